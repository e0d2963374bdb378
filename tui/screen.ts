/**
 * The screen registry's contract: a ScreenDef names a screen (id, tab title, menu group, place in
 * the tab order, which session sees it) and builds its Pane from the PaneContext. Screens are
 * listed in tui/screens/*.ts (one array per area, so helpers never edit the same lines) and
 * collected by tui/screens/index.ts; the app shows them in `order`. Pure: no blessed, no I/O.
 */
import type { Pane, PaneContext } from './pane.ts';

/** Menu sections, in menu order. A new area adds its group here only if none of these fits. */
export const SCREEN_GROUPS = ['WhatsApp', 'Business', 'Integrations', 'Access', 'Usage', 'Developer', 'Operator'] as const;
export type ScreenGroup = (typeof SCREEN_GROUPS)[number];

/** Which session a screen belongs to: control-panel tokens (pbc_…, default) or operator tokens (pbo_…). */
export type Audience = 'org' | 'operator';

export interface ScreenDef {
  /** Stable and unique (tests and the menu use it): lowercase, digits and dashes. */
  id: string;
  /** Tab label: short (≤ 12 columns) so the tab bar fits at 80 columns. */
  title: string;
  group: ScreenGroup;
  /** Place in the tab order. Ranges: core 100–199, tui-biz 200–299, tui-dev 300–399. */
  order: number;
  audience?: Audience;
  create(ctx: PaneContext): Pane;
}

/** The screens a session shows, in tab order; duplicate ids are a programming error (thrown at start-up). */
export function screensFor(all: readonly ScreenDef[], audience: Audience): ScreenDef[] {
  const seen = new Set<string>();
  for (const s of all) {
    if (!/^[a-z0-9-]+$/.test(s.id)) throw new Error(`screen id "${s.id}" must be lowercase letters, digits and dashes`);
    if (seen.has(s.id)) throw new Error(`two screens are registered as "${s.id}"`);
    seen.add(s.id);
  }
  return all.filter((s) => (s.audience ?? 'org') === audience).sort((a, b) => a.order - b.order || a.id.localeCompare(b.id));
}
