/**
 * End to end, at 160×48 and 80×24: the Catalogue and Orders screens of the real TUI in tmux
 * against a real server (sandbox payments; the order comes from a customer on WhatsApp through
 * the scripted model). Add a product, edit it (a refused price brings the form back with what was
 * typed), make it inactive; see the customer's order with its items, mark its payment paid on the
 * Payments screen and fulfil the order, which then offers nothing more.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { orderAndPayScript, setupCommerce } from '../toolkits/commerce-setup.ts';
import { fitsWidth, gotoScreen, SCREEN_TIMEOUT_MS, SIZES, startTui, tmuxSkip } from './tmux.ts';

const skip = tmuxSkip();

for (const { cols, rows } of SIZES) {
  test(`catalogue and orders at ${cols}x${rows}: add, edit after a refused price, deactivate; order paid and fulfilled`, { skip }, async () => {
    await using s = await setupCommerce();
    s.upstream.script(...orderAndPayScript([{ sku: 'HELMET-1', quantity: 2 }, { sku: 'LOCK-1', quantity: 1 }]));
    await s.send('Two helmets and a lock');
    await s.waitForSent(1, SCREEN_TIMEOUT_MS);

    await using tui = await startTui({ url: s.t.url, token: s.tenant.ownerToken, cols, rows });
    await gotoScreen(tui, 'Catalogue');
    await tui.waitFor('the catalogue', /HELMET-1 +City helmet +25\.00 EUR/);

    tui.keys('a');
    await tui.waitFor('the product form', 'SKU:');
    tui.type('TUBE-26');
    tui.keys('Enter');
    tui.type('Inner tube');
    tui.keys('Enter');
    tui.type('6.5');
    tui.keys('Enter', 'Enter', 'Enter', 'Enter');
    await tui.waitFor('the new product', (sc) => sc.includes('Added TUBE-26 Inner tube.') && /TUBE-26 +Inner tube +6\.50 EUR/.test(sc));
    const added = (await s.owner('GET', `${s.org}/products?q=TUBE`)).json.data[0];
    assert.deepEqual([added.priceMinor, added.currency, added.stock, added.active], [650, 'EUR', null, true]);

    tui.keys('/');
    await tui.waitFor('the search form', 'Name or SKU:');
    tui.type('TUBE');
    tui.keys('Enter');
    await tui.waitFor('only the tube', (sc) => sc.includes('Catalogue: "TUBE"') && !sc.includes('HELMET-1 '));
    tui.keys('e');
    await tui.waitFor('the edit form, prefilled', /Price \(12\.50\): *6\.50/);
    tui.keys('Enter', 'Enter', 'C-u');
    tui.type('lots');
    tui.keys('Enter', 'Enter', 'Enter', 'Enter');
    await tui.waitFor('the refusal, and the form back with what was typed', (sc) => sc.includes('Price: "lots" is not an amount') && /Price \(12\.50\): *lots/.test(sc));
    tui.keys('Enter', 'Enter', 'C-u');
    tui.type('7.25');
    tui.keys('Enter', 'Enter', 'Enter', 'Enter');
    await tui.waitFor('the edited price', /TUBE-26 +Inner tube +7\.25 EUR/);
    tui.keys('t');
    await tui.waitFor('the product inactive', /TUBE-26 +Inner tube +7\.25 EUR +(- +)?inactive/);
    const edited = (await s.owner('GET', `${s.org}/products/${added.id}`)).json;
    assert.deepEqual([edited.priceMinor, edited.active], [725, false]);

    await gotoScreen(tui, 'Orders');
    await tui.waitFor('the customer\'s order with its items', (sc) => /1 +pending_payment +69\.99 EUR +2x HELMET-1, 1x LOCK-1/.test(sc) && /2 x HELMET-1 City helmet @ 25\.00 EUR = 50\.00 EUR/.test(sc));
    tui.keys('f');
    await tui.waitFor('fulfil refused while unpaid', 'fulfil: only a paid order can be fulfilled');

    await gotoScreen(tui, 'Payments');
    await tui.waitFor('the sandbox payment', /sandbox +pending +69\.99 EUR|pending +69\.99 EUR/);
    tui.keys('p');
    await tui.waitFor('the confirmation', 'Mark ');
    tui.keys('y');
    await tui.waitFor('the payment succeeded', /succeeded +69\.99 EUR/);
    await s.waitForSent(2, SCREEN_TIMEOUT_MS); // the customer is told

    await gotoScreen(tui, 'Orders');
    await tui.waitFor('the order paid', /1 +paid +69\.99 EUR/);
    tui.keys('f');
    await tui.waitFor('the fulfil confirmation', 'Mark order #1 fulfilled');
    tui.keys('y');
    await tui.waitFor('the order fulfilled', /1 +fulfilled +69\.99 EUR/);
    const order = (await s.owner('GET', `${s.org}/orders`)).json.data[0];
    assert.equal(order.status, 'fulfilled');
    tui.keys('c');
    await tui.waitFor('cancel refused once fulfilled', 'cancel: only an order waiting for payment can be cancelled');
    assert.equal((await s.owner('GET', `${s.org}/orders/${order.id}`)).json.status, 'fulfilled', 'nothing changed');
    assert.ok(fitsWidth(tui.capture(), cols), 'nothing is drawn past the right edge');
    await tui.quit();
  });
}
