/** Screens of the console core (issue 13, owner: tui). Order 100–199. */
import { createGrantsPane } from '../panes/grants.ts';
import { createInstallationsPane } from '../panes/installations.ts';
import { createKeysPane } from '../panes/keys.ts';
import { createLiveLogPane } from '../panes/live-log.ts';
import { createPluginsPane } from '../panes/plugins.ts';
import { createUsagePane } from '../panes/usage.ts';
import type { ScreenDef } from '../screen.ts';

export const CORE_SCREENS: ScreenDef[] = [
  { id: 'grants', title: 'Grants', group: 'WhatsApp', order: 120, create: createGrantsPane },
  { id: 'integrations', title: 'Integrations', group: 'Integrations', order: 140, create: createInstallationsPane },
  { id: 'plugins', title: 'Plugins', group: 'Integrations', order: 145, create: createPluginsPane },
  { id: 'keys', title: 'Keys', group: 'Access', order: 160, create: createKeysPane },
  { id: 'usage', title: 'Usage', group: 'Usage', order: 180, create: createUsagePane },
  { id: 'live', title: 'Live', group: 'Usage', order: 190, create: createLiveLogPane },
];
