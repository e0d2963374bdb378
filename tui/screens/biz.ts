/**
 * Screens of issue 12 (tui-biz: commerce, payments, inbox, reminders). Add one import and one
 * entry per screen; order 200–299, group 'Business' (or another of SCREEN_GROUPS).
 */
import type { ScreenDef } from '../screen.ts';

export const BIZ_SCREENS: ScreenDef[] = [
  // { id: 'inbox', title: 'Inbox', group: 'Business', order: 200, create: createInboxPane },
];
