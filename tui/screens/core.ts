/** Screens of the console core (issue 13, owner: tui). Order 100–199. */
import { createAuditPane } from '../panes/audit.ts';
import { createConversationsPane } from '../panes/conversations.ts';
import { createGrantsPane } from '../panes/grants.ts';
import { createJobsPane } from '../panes/jobs.ts';
import { createNumbersPane } from '../panes/numbers.ts';
import { createInstallationsPane } from '../panes/installations.ts';
import { createKeysPane } from '../panes/keys.ts';
import { createLiveLogPane } from '../panes/live-log.ts';
import { createMembersPane } from '../panes/members.ts';
import { createSettingsPane } from '../panes/settings.ts';
import { createPluginsPane } from '../panes/plugins.ts';
import { createUsagePane } from '../panes/usage.ts';
import type { ScreenDef } from '../screen.ts';

export const CORE_SCREENS: ScreenDef[] = [
  { id: 'numbers', title: 'Numbers', group: 'WhatsApp', order: 100, create: createNumbersPane },
  { id: 'grants', title: 'Grants', group: 'WhatsApp', order: 110, create: createGrantsPane },
  { id: 'conversations', title: 'Chats', group: 'WhatsApp', order: 120, create: createConversationsPane },
  { id: 'jobs', title: 'Jobs', group: 'WhatsApp', order: 130, create: createJobsPane },
  { id: 'integrations', title: 'Integrations', group: 'Integrations', order: 140, create: createInstallationsPane },
  { id: 'plugins', title: 'Plugins', group: 'Integrations', order: 145, create: createPluginsPane },
  { id: 'keys', title: 'Keys', group: 'Access', order: 160, create: createKeysPane },
  { id: 'members', title: 'Members', group: 'Access', order: 165, create: createMembersPane },
  { id: 'settings', title: 'Settings', group: 'Access', order: 170, create: createSettingsPane },
  { id: 'audit', title: 'Audit', group: 'Access', order: 175, create: createAuditPane },
  { id: 'usage', title: 'Usage', group: 'Usage', order: 162, create: createUsagePane },
  { id: 'live', title: 'Live', group: 'Usage', order: 163, create: createLiveLogPane },
];
