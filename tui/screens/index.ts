/**
 * Every screen of the TUI: the arrays of the areas, concatenated. An area registers its screens in
 * its own file (core.ts, biz.ts, dev.ts) so that no two helpers edit the same lines.
 */
import type { ScreenDef } from '../screen.ts';
import { BIZ_SCREENS } from './biz.ts';
import { CORE_SCREENS } from './core.ts';
import { DEV_SCREENS } from './dev.ts';

export const ALL_SCREENS: readonly ScreenDef[] = [...CORE_SCREENS, ...BIZ_SCREENS, ...DEV_SCREENS];
