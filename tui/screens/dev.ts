/**
 * Screens of issue 11 (tui-dev: developer area, directory, install, plugin logs, review queue).
 * Add one import and one entry per screen; order 300–399, group 'Developer' (operator screens:
 * group 'Operator', audience 'operator').
 */
import type { ScreenDef } from '../screen.ts';

export const DEV_SCREENS: ScreenDef[] = [
  // { id: 'directory', title: 'Directory', group: 'Developer', order: 300, create: createDirectoryPane },
];
