/**
 * Helpers of the business-screen tmux tests (inbox, payments): going to a screen by pressing Tab
 * until its tab is the active one (bounded, waiting for each change rather than sleeping), and the
 * generous wait used for server-side effects on a loaded machine.
 */
import { lines, SCREEN_TIMEOUT_MS, type TuiSession } from './tmux.ts';

export { SCREEN_TIMEOUT_MS };

/** The active tab's title on the tab bar (row 2), e.g. `Payments` from `[5 Payments]`. */
export function activeTab(screen: string): string | null {
  return /\[(?:\d )?([^\]]+)\]/.exec(lines(screen)[1] ?? '')?.[1] ?? null;
}

/** Presses Tab until `title` is the active tab; at most `max` presses, each waited for. */
export async function gotoScreen(tui: TuiSession, title: string, max = 30): Promise<void> {
  for (let i = 0; i < max; i++) {
    const before = activeTab(tui.capture());
    if (before === title) return;
    tui.keys('Tab');
    await tui.waitFor(`the tab after ${before ?? '(none)'} on the way to ${title}`, (s) => activeTab(s) !== before);
  }
  throw new Error(`${title} is not a tab after ${max} presses of Tab:\n${tui.capture()}`);
}
