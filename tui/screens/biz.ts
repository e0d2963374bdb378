/**
 * Screens of issue 12 (tui-biz: commerce, payments, inbox, reminders). Add one import and one
 * entry per screen; order 200–299, group 'Business' (or another of SCREEN_GROUPS).
 */
import { createCataloguePane } from '../panes/catalogue.ts';
import { createInboxPane } from '../panes/inbox.ts';
import { createOrdersPane } from '../panes/orders.ts';
import { createPaymentsPane } from '../panes/payments.ts';
import { createRemindersPane } from '../panes/reminders.ts';
import type { ScreenDef } from '../screen.ts';

export const BIZ_SCREENS: ScreenDef[] = [
  { id: 'inbox', title: 'Inbox', group: 'Business', order: 200, create: createInboxPane },
  { id: 'reminders', title: 'Reminders', group: 'Business', order: 210, create: createRemindersPane },
  { id: 'orders', title: 'Orders', group: 'Business', order: 220, create: createOrdersPane },
  { id: 'payments', title: 'Payments', group: 'Business', order: 230, create: createPaymentsPane },
  { id: 'catalogue', title: 'Catalogue', group: 'Business', order: 240, create: createCataloguePane },
];
