/**
 * End to end, at 160×48 and 80×24: the owner binds the payment provider on the Payments screen of
 * the real TUI (tmux) against a real server. Sandbox first, then manual (a refusal from the server
 * brings the form back with what was typed), then Stripe: the webhook URL to configure is shown
 * (the one the API gives) and neither secret is ever on the screen, in the log pane or in the
 * server's log. An admin and a member see the binding but `b` is greyed and refused without a request.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startApp } from '../helpers/app.ts';
import { fitsWidth, gotoScreen, lines, SIZES, startTui, tmuxSkip } from './tmux.ts';

const skip = tmuxSkip();
// Unique middles: the key's hint keeps only `sk_test_…` and the last four characters.
const SECRET_KEY = `sk_test_TuiFixKey${'Q7'.repeat(12)}`;
const WEBHOOK_SECRET = `whsec_TuiFixHook${'Z9'.repeat(12)}`;
const leaks = (s: string): boolean => s.includes('TuiFixKey') || s.includes('TuiFixHook');

for (const { cols, rows } of SIZES) {
  test(`payment binding at ${cols}x${rows}: the owner binds sandbox, then manual (a refusal keeps the form), then Stripe (webhook URL shown, secrets never)`, { skip }, async () => {
    await using t = await startApp();
    const { orgId, ownerToken } = t.tenant('Acme');
    const binding = async () => (await t.api('GET', `/organizations/${orgId}/payment-binding`, { token: ownerToken })).json;

    await using tui = await startTui({ url: t.url, token: ownerToken, cols, rows });
    await gotoScreen(tui, 'Payments');
    await tui.waitFor('no provider yet', 'No payment provider bound (the owner binds one with b)');

    // Sandbox: refunds without approval, links valid for 30 minutes.
    tui.keys('b');
    await tui.waitFor('the provider choice', (s) => s.includes('Bind a payment provider') && s.includes('stripe: Checkout links'));
    tui.keys('Enter'); // sandbox is first
    await tui.waitFor('the sandbox form', (s) => s.includes('Bind sandbox') && s.includes('Paid text:'));
    tui.keys('Enter', 'Enter', 'Enter'); // paid text, template, variables: none
    await tui.waitFor('the approval field', /> Refund approval: +‹ required ›/);
    tui.keys('Space');
    await tui.waitFor('approval not required', /‹ not required ›/);
    tui.keys('Enter', 'C-u');
    tui.type('30m');
    await tui.waitFor('the link expiry typed', /> Link valid for: +30m_/);
    tui.keys('Enter');
    await tui.waitFor('the sandbox binding', (s) => s.includes('Provider: sandbox') && !s.includes('[Enter] next / submit'));
    const sandbox = await binding();
    assert.equal(sandbox.provider, 'sandbox');
    assert.equal(sandbox.settings.refundsRequireApproval, false);
    assert.equal(sandbox.settings.linkExpiresInSeconds, 1800);

    // Manual: the instructions lack {reference}; the server refuses and the form comes back with them.
    tui.keys('b');
    await tui.waitFor('the choice with the current binding', (s) => s.includes('Payment provider (now sandbox)') && s.includes('change the sandbox binding'));
    tui.keys('Down', 'Down', 'Enter'); // change, sandbox, → manual
    await tui.waitFor('the manual form', (s) => s.includes('Bind manual (retires the sandbox binding)') && s.includes('Instructions:'));
    tui.type('Pay {amount} by transfer');
    await tui.waitFor('the instructions typed', 'Pay {amount} by transfer_');
    for (let i = 0; i < 6; i++) tui.keys('Enter');
    const refused = await tui.waitFor('the refusal with the form back', (s) => /failed: A manual binding needs/.test(s) && s.includes('Bind manual (retires') && s.includes('Pay {amount} by transfer_'));
    assert.match(refused, /Link valid for: +30m/, 'the carried-over settings are kept too');
    assert.equal((await binding()).id, sandbox.id, 'nothing changed on a refusal');
    tui.type(' quoting {reference}');
    await tui.waitFor('the instructions fixed', 'by transfer quoting {reference}_');
    for (let i = 0; i < 6; i++) tui.keys('Enter');
    await tui.waitFor('the manual binding', (s) => s.includes('Provider: manual') && !s.includes('[Enter] next / submit'));
    const manual = await binding();
    assert.equal(manual.provider, 'manual');
    assert.notEqual(manual.id, sandbox.id, 're-binding makes a new binding');
    assert.equal(manual.settings.instructionsTemplate, 'Pay {amount} by transfer quoting {reference}');
    assert.equal(manual.settings.refundsRequireApproval, false, 'settings carried over from the sandbox binding');

    // Stripe: secrets typed as stars; afterwards the webhook URL to configure.
    const screens: string[] = [];
    const seen = async (what: string, check: (s: string) => boolean): Promise<string> => {
      const s = await tui.waitFor(what, check);
      screens.push(s);
      return s;
    };
    tui.keys('b');
    await seen('the choice', (s) => s.includes('Payment provider (now manual)'));
    tui.keys('Down', 'Down', 'Down', 'Enter');
    await seen('the stripe form', (s) => s.includes('Bind stripe (retires the manual binding)') && s.includes('Secret key:'));
    tui.type(SECRET_KEY);
    await seen('the key typed as stars', (s) => /> Secret key: +…?\*{20,}_/.test(s));
    tui.keys('Enter');
    tui.type(WEBHOOK_SECRET);
    await seen('the webhook secret typed as stars', (s) => /> Webhook secret: +…?\*{20,}_/.test(s));
    tui.keys('Enter');
    tui.type('https://shop.example/thanks');
    await seen('the success URL', (s) => s.includes('shop.example/thanks_'));
    for (let i = 0; i < 7; i++) tui.keys('Enter'); // cancel URL … link expiry, then submit
    const alert = await seen('the webhook URL to configure', (s) => s.includes('Configure this endpoint in Stripe') && s.includes('refund.updated') && s.includes('[Enter] close'));
    const stripe = await binding();
    assert.equal(stripe.provider, 'stripe');
    assert.equal(stripe.settings.successUrl, 'https://shop.example/thanks');
    const url: string = stripe.stripe.webhookUrl;
    assert.ok(url.endsWith(`/webhooks/payments/stripe/${stripe.id}`), url);
    // The pane cuts the URL to the dialog's inner width (80% of the screen, less border and padding); the lines follow each other.
    const width = Math.floor(cols * 0.8) - 6;
    const chunks: string[] = [];
    for (let i = 0; i < url.length; i += width) chunks.push(url.slice(i, i + width));
    const rowsOf = chunks.map((c) => lines(alert).findIndex((l) => l.includes(c)));
    assert.ok(rowsOf.every((r, i) => r >= 0 && (i === 0 || r === rowsOf[i - 1] + 1)), `the URL ${url} in ${chunks.length} consecutive lines:\n${alert}`);
    if (cols >= 160) assert.ok(alert.includes(url), 'whole on one line at 160 columns');
    assert.ok(alert.includes(stripe.stripe.secretKeyHint), 'the key hint the API gives');
    tui.keys('Enter');
    await seen('the alert closed, the stripe line', (s) => !s.includes('Configure this endpoint') && s.includes(`Provider: stripe  test key ${stripe.stripe.secretKeyHint}`));
    tui.keys('w');
    await seen('the webhook URL again with w', (s) => s.includes('Configure this endpoint in Stripe') && s.includes(chunks[0]));
    tui.keys('Escape');
    await seen('closed again', (s) => !s.includes('Configure this endpoint'));

    // A change of the current binding (PATCH): empty secrets keep the stored ones, the id and webhook URL stay.
    tui.keys('b');
    await seen('the choice', (s) => s.includes('Payment provider (now stripe)') && s.includes('change the stripe binding'));
    tui.keys('Enter');
    await seen('the change form', (s) => s.includes('Change the stripe binding (empty secret: keep)') && s.includes('shop.example/thanks'));
    tui.keys('Enter', 'Enter', 'C-u');
    tui.type('https://shop.example/merci');
    await seen('the new success URL', (s) => s.includes('shop.example/merci_'));
    for (let i = 0; i < 7; i++) tui.keys('Enter'); // cancel URL … link expiry, then submit
    const last = await seen('the change saved', (s) => s.includes('The stripe binding is changed.') && !s.includes('[Enter] next / submit'));
    assert.ok(!last.includes('Configure this endpoint'), 'a change keeps the webhook URL: no dialog');
    const changed = await binding();
    assert.equal(changed.id, stripe.id);
    assert.equal(changed.settings.successUrl, 'https://shop.example/merci');
    assert.equal(changed.stripe.webhookUrl, url);
    assert.equal(changed.stripe.secretKeyHint, stripe.stripe.secretKeyHint, 'the stored key was kept');
    for (const s of screens) assert.ok(!leaks(s), `no secret on the screen:\n${s}`);
    assert.ok(!t.logs.some((l) => leaks(l)), 'no secret in the server log');
    assert.ok(fitsWidth(last, cols), 'nothing drawn past the right edge');
    await tui.quit();
  });
}

for (const role of ['admin', 'member'] as const) {
  test(`payment binding as ${role} at 80x24: the binding is readable, b is greyed in the help and refused without a request`, { skip }, async () => {
    await using t = await startApp();
    const { orgId, ownerToken } = t.tenant('Acme');
    const bound = await t.api('PUT', `/organizations/${orgId}/payment-binding`, { token: ownerToken, body: { provider: 'sandbox' } });
    assert.equal(bound.status, 200, bound.text);
    const user = t.member(orgId, role);
    await using tui = await startTui({ url: t.url, token: user.token, cols: 80, rows: 24 });
    await gotoScreen(tui, 'Payments');
    await tui.waitFor('the binding, read-only', 'Provider: sandbox');
    tui.keys('b');
    await tui.waitFor('the refusal', `bind provider: only the owner binds the payment provider (you are ${role})`);
    assert.ok(!tui.capture().includes('Bind a payment provider') && !tui.capture().includes('Payment provider (now'), 'no choice opened');
    tui.keys('?');
    await tui.waitFor('the key greyed in the help', /b +bind provider +\(needs owner\)/);
    tui.keys('Escape');
    await tui.waitForGone('the help closed', 'Keys of Payments');
    const after = await t.api('GET', `/organizations/${orgId}/payment-binding`, { token: ownerToken });
    assert.equal(after.json.id, bound.json.id, 'the binding is unchanged');
    await tui.quit();
  });
}
