/**
 * The TUI shell in the real TUI (tmux) against a real server: at 80×24 every tab is reachable and
 * nothing is drawn past the edge, `?` lists the keys of the screen, a mouse click on a tab opens
 * it, the token comes from a file, the log pane has no terminfo noise, and when the server goes
 * away the header turns into a connection warning with the stale marker (and back when it returns
 * is not checked: the test server cannot restart on the same port).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startApp } from '../helpers/app.ts';
import { fitsWidth, lines, SIZES, startTui, tmuxSkip } from './tmux.ts';

const skip = tmuxSkip();

/** An SGR mouse press and release at the 0-based cell (x, y). */
const click = (x: number, y: number): string[] => [`\x1b[<0;${x + 1};${y + 1}M`, `\x1b[<0;${x + 1};${y + 1}m`];

for (const { cols, rows } of SIZES) {
  test(`shell: tabs fit, ? help, mouse, no terminfo noise, offline + stale marker — ${cols}x${rows}`, { skip }, async () => {
    const t = await startApp();
    try {
      const { ownerToken } = t.tenant('Acme');
      await using tui = await startTui({ url: t.url, token: ownerToken, cols, rows });
      const first = await tui.waitFor('the first screen', (s) => s.includes('[1 Numbers]') && s.includes('● online'));
      assert.ok(fitsWidth(first, cols));
      assert.equal(lines(first).length, rows);
      assert.doesNotMatch(first, /terminfo|Setulc|Error on/i, 'no terminfo warnings in the log pane');

      // Every screen is reachable with Tab, and its tab is shown whole.
      const seen: string[] = [];
      for (let i = 0; i < 14; i++) {
        const s = tui.capture();
        const active = /\[(?:\d )?([A-Za-z]+)\]/.exec(lines(s)[1] ?? '')?.[1];
        if (active && !seen.includes(active)) seen.push(active);
        tui.keys('Tab');
        await tui.waitFor('the next tab', (x) => (lines(x)[1] ?? '') !== (lines(s)[1] ?? ''));
      }
      for (const title of ['Numbers', 'Grants', 'Chats', 'Jobs', 'Integrations', 'Plugins', 'Keys', 'Usage', 'Live', 'Members', 'Settings', 'Audit']) {
        assert.ok(seen.includes(title), `tab ${title} reachable (seen ${seen.join(', ')})`);
      }

      tui.keys('1');
      await tui.waitFor('the numbers screen', '[1 Numbers]');
      tui.keys('?');
      const help = await tui.waitFor('the help overlay', (s) => s.includes('Keys of Numbers') && s.includes('new number') && s.includes('go to a screen'));
      assert.ok(fitsWidth(help, cols));
      tui.keys('Escape');
      await tui.waitForGone('the help closed', 'Keys of Numbers');

      // Mouse: click the "2 Grants" tab.
      const bar = lines(tui.capture())[1];
      const x = bar.indexOf('2 Grants');
      assert.ok(x >= 0, bar);
      for (const seq of click(x + 2, 1)) tui.type(seq);
      await tui.waitFor('the grants screen by mouse', '[2 Grants]');

      // The menu of every screen.
      tui.keys('g');
      await tui.waitFor('the screen menu', (s) => s.includes('Go to screen') && s.includes('Audit'));
      tui.keys('Escape');
      await tui.waitForGone('the menu closed', 'Go to screen');

      // The server goes away: the header says so and marks what is shown as stale.
      await t.close();
      tui.keys('l'); // any call notices at once; the 5 s probe would too
      const offline = await tui.waitFor('the offline marker', (s) => /OFFLINE \(STALE, data from \d\d:\d\d:\d\d\)/.test(lines(s)[0] ?? ''));
      assert.match(offline, /Server unreachable|cannot reach the server/);
      await tui.quit();
    } finally {
      await t.close().catch(() => undefined);
    }
  });
}
