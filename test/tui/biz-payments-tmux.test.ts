/**
 * End to end, at 160×48 and 80×24: a real server bound to the manual payment provider, a customer
 * ordering on WhatsApp (signed inbound message, scripted model, Twilio fake through the real SDK),
 * and the real TUI in tmux. The operator confirms the bank transfer on the Payments screen (the
 * order becomes paid and the customer is told), then approves the refund the agent asked for and
 * settles it by hand. A member sees the same screen with the actions greyed and refused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../helpers/factories.ts';
import { calls, dynamic, lastResult, orderAndPayScript, say, setupCommerce } from '../toolkits/commerce-setup.ts';
import { fitsWidth, gotoScreen, SCREEN_TIMEOUT_MS, SIZES, startTui, tmuxSkip } from './tmux.ts';

const skip = tmuxSkip();
const MANUAL = { provider: 'manual', settings: { instructionsTemplate: 'Transfer {amount} to IBAN XX00 0000, reference {reference}.' } };

for (const { cols, rows } of SIZES) {
  test(`payments screen at ${cols}x${rows}: confirm a manual payment, approve and settle the agent's refund request`, { skip }, async () => {
    await using s = await setupCommerce({}, { binding: MANUAL });
    s.upstream.script(...orderAndPayScript([{ sku: 'HELMET-1', quantity: 1 }]));
    await s.send('A helmet please');
    await s.waitForSent(1, SCREEN_TIMEOUT_MS);
    const payment = (await s.owner('GET', `${s.org}/payments`)).json.data[0];
    assert.equal(payment.status, 'pending');

    await using tui = await startTui({ url: s.t.url, token: s.tenant.ownerToken, cols, rows });
    await gotoScreen(tui, 'Payments');
    await tui.waitFor('the pending manual payment', (sc) => sc.includes('Provider: manual') && /pending +25\.00 EUR/.test(sc));

    // Confirm receipt: the form comes prefilled with the exact amount.
    tui.keys('m');
    await tui.waitFor('the confirm-receipt form', /Received \(EUR\): *25\.00/);
    tui.keys('Enter');
    tui.type('Bank statement 12 May');
    tui.keys('Enter');
    await tui.waitFor('the payment succeeded', /succeeded +25\.00 EUR/);
    const paid = await s.owner('GET', `${s.org}/payments/${payment.id}`);
    assert.equal(paid.json.status, 'succeeded', paid.text);
    assert.equal((await s.owner('GET', `${s.org}/orders/${payment.orderId}`)).json.status, 'paid');
    const told = await s.waitForSent(2, SCREEN_TIMEOUT_MS);
    assert.equal(told.length, 2, 'the customer is told once');

    // The agent asks for a refund; it waits for a person.
    s.upstream.script(
      { json: calls({ name: 'payments__request_refund', arguments: { orderNumber: 1, note: 'Wrong size' } }) },
      dynamic((req) => {
        assert.equal(lastResult(req).body.status, 'requested', lastResult(req).text);
        return say('A person will look at your refund.');
      }),
    );
    await s.send('Refund please, wrong size');
    await s.waitForSent(3, SCREEN_TIMEOUT_MS);
    // No key pressed: the screen follows the live stream.
    await tui.waitFor('the requested refund', (sc) => /requested +25\.00 EUR +agent/.test(sc) && sc.includes('1 waiting for approval'));

    tui.keys('Right', 'a');
    await tui.waitFor('the approve form', 'Approve the refund of 25.00 EUR');
    tui.type('ok, returned unworn');
    tui.keys('Enter');
    const refund = await waitFor('the approved refund at the (manual) provider', async () => {
      const r = (await s.owner('GET', `${s.org}/refunds`)).json.data[0];
      return r?.status === 'pending' ? r : null;
    }, SCREEN_TIMEOUT_MS);
    assert.equal(refund.decisionNote, 'ok, returned unworn');
    tui.keys('l');
    await tui.waitFor('the refund being paid back', /pending +25\.00 EUR +agent/);

    tui.keys('s');
    await tui.waitFor('the settle choice', 'I paid the money back (succeeded)');
    tui.keys('Enter');
    await tui.waitFor('the settled refund', /succeeded +25\.00 EUR +agent/);
    await waitFor('the payment to show the refund', async () => (await s.owner('GET', `${s.org}/payments/${payment.id}`)).json.refundedMinor === 2500, SCREEN_TIMEOUT_MS);
    assert.ok(fitsWidth(tui.capture(), cols), 'nothing is drawn past the right edge');
    await tui.quit();
  });
}

test('payments screen as a member: everything readable, the actions greyed and refused without a request', { skip }, async () => {
  await using s = await setupCommerce({}, { binding: MANUAL });
  s.upstream.script(...orderAndPayScript([{ sku: 'LOCK-1', quantity: 1 }]));
  await s.send('A lock');
  await s.waitForSent(1, SCREEN_TIMEOUT_MS);
  const member = s.t.member(s.tenant.orgId, 'member');
  await using tui = await startTui({ url: s.t.url, token: member.token, cols: 80, rows: 24 });
  await gotoScreen(tui, 'Payments');
  await tui.waitFor('the payment, read-only', /pending +19\.99 EUR/);
  tui.keys('m');
  await tui.waitFor('the refusal', 'confirm receipt: members can read only');
  assert.equal((await s.owner('GET', `${s.org}/payments`)).json.data[0].status, 'pending', 'nothing changed');
  await tui.quit();
});
