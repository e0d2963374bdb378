/**
 * Two shell fixes in the real TUI (tmux) against a real server, at 160×48 and 80×24:
 * - renaming the organisation in Settings shows the new name in the header at once, and a click on
 *   the log pane while the form is open leaves the keys with the form;
 * - a mouse click on a tab while a custom (grabKeys) modal is open — here the developer area's list
 *   of a refused manifest's problems — does not switch the pane under it; once the modal is closed,
 *   the same click does.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startApp, tempDir } from '../helpers/app.ts';
import { testManifest } from '../plugins/custom/helpers.ts';
import { fitsWidth, gotoScreen, lines, SIZES, startTui, tmuxSkip } from './tmux.ts';

const skip = tmuxSkip();

/** An SGR mouse press and release at the 0-based cell (x, y). */
const click = (x: number, y: number): string[] => [`\x1b[<0;${x + 1};${y + 1}M`, `\x1b[<0;${x + 1};${y + 1}m`];

for (const { cols, rows } of SIZES) {
  test(`shell fixes at ${cols}x${rows}: a rename updates the header at once, a click on the log pane leaves the keys with the form, a tab click under a custom modal switches nothing`, { skip }, async () => {
    await using t = await startApp({ PLUGBOARD_MCP_ALLOWED_NETWORKS: '127.0.0.0/8' });
    const { orgId, ownerToken } = t.tenant('Acme');
    const dir = tempDir('pb-fx-'); // short: the path must fit the form's field at 80 columns
    const bad = path.join(dir, 'bad.json');
    fs.writeFileSync(bad, JSON.stringify(testManifest('http://127.0.0.1:9', { slug: 'whatsapp', version: 'one', colour: 'blue' })));

    await using tui = await startTui({ url: t.url, token: ownerToken, cols, rows });
    await tui.waitFor('the header', (s) => (lines(s)[0] ?? '').includes('Plugboard: Acme (owner)'));

    // Rename: the header follows without an organisation switch.
    await gotoScreen(tui, 'Settings');
    await tui.waitFor('the settings', /Name: +Acme/);
    tui.keys('e');
    await tui.waitFor('the rename form', 'Rename the organisation');
    tui.keys('C-u');
    tui.type('Acme Bikes');
    tui.keys('Enter');
    const renamed = await tui.waitFor('the new name in the header', (s) => (lines(s)[0] ?? '').includes('Plugboard: Acme Bikes (owner)'));
    assert.match(renamed, /Renamed to Acme Bikes\./);
    assert.equal((await t.api('GET', `/organizations/${orgId}`, { token: ownerToken })).json.name, 'Acme Bikes');

    // A click on the log pane (clickable, below the form) leaves the keys with the open form.
    tui.keys('e');
    await tui.waitFor('the rename form again', (s) => s.includes('Rename the organisation') && s.includes('Acme Bikes_'));
    for (const seq of click(3, rows - 4)) tui.type(seq);
    tui.type(' Co');
    tui.keys('Enter');
    await tui.waitFor('the name typed after the click', (s) => (lines(s)[0] ?? '').includes('Plugboard: Acme Bikes Co (owner)'));

    // A custom modal (grabKeys) over the developer area.
    await gotoScreen(tui, 'Develop');
    const before = await tui.waitFor('the empty developer area', 'no plugins yet');
    const bar = lines(before)[1];
    const target = ['Installed', 'Directory', 'Catalogue', 'Payments'].find((name) => bar.includes(` ${name} `));
    assert.ok(target, `another tab in the bar: ${bar}`);
    const x = bar.indexOf(` ${target} `) + 2;
    tui.keys('n');
    await tui.waitFor('the register form', 'Manifest URL or file:');
    tui.type(bad);
    tui.keys('Enter');
    await tui.waitFor('the problem list (a grabKeys modal)', (s) => s.includes('Registering the plugin refused') && s.includes('[Enter/Esc] close'));
    for (const seq of click(x, 1)) tui.type(seq);
    // Input is read in order: the click is handled before the Enter that closes the list.
    tui.keys('Enter');
    const after = await tui.waitFor('the problem list closed', (s) => !s.includes('[Enter/Esc] close'));
    assert.match(lines(after)[1] ?? '', /\[Develop\]/, `the pane under the modal did not switch:\n${after}`);
    assert.ok(after.includes('no plugins yet'));

    // The same click without a modal switches (the click did reach the tab bar).
    for (const seq of click(x, 1)) tui.type(seq);
    const switched = await tui.waitFor(`the ${target} screen by mouse`, (s) => (lines(s)[1] ?? '').includes(`[${target}]`));
    assert.ok(fitsWidth(switched, cols));
    await tui.quit();
  });
}
