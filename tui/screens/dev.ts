/**
 * Screens of issue 11 (tui-dev: developer area, directory, install, plugin logs, review queue).
 * Add one import and one entry per screen; order 300–399, group 'Developer' (operator screens:
 * group 'Operator', audience 'operator').
 */
import { createDevAreaPane } from '../panes/dev-area.ts';
import { createReviewQueuePane, createOperatorInstallsPane } from '../panes/operator-review.ts';
import { createDirectoryPane } from '../panes/plugin-directory.ts';
import { createPluginInstallsPane } from '../panes/plugin-installs.ts';
import { createOperatorLogsPane, createPluginLogsPane } from '../panes/plugin-logs.ts';
import type { ScreenDef } from '../screen.ts';

export const DEV_SCREENS: ScreenDef[] = [
  { id: 'directory', title: 'Directory', group: 'Developer', order: 300, create: createDirectoryPane },
  { id: 'plugin-installs', title: 'Installed', group: 'Developer', order: 310, create: createPluginInstallsPane },
  { id: 'plugin-logs', title: 'Plugin logs', group: 'Developer', order: 320, create: createPluginLogsPane },
  { id: 'dev-area', title: 'Develop', group: 'Developer', order: 330, create: createDevAreaPane },
  { id: 'reviews', title: 'Reviews', group: 'Operator', order: 300, audience: 'operator', create: createReviewQueuePane },
  { id: 'operator-installs', title: 'Installs', group: 'Operator', order: 310, audience: 'operator', create: createOperatorInstallsPane },
  { id: 'operator-logs', title: 'Logs', group: 'Operator', order: 320, audience: 'operator', create: createOperatorLogsPane },
];
