/**
 * End to end, at 160×48 and 80×24: the Reminders screen of the real TUI in tmux against a real
 * server with the Scheduling toolkit. The operator picks the customer's conversation, schedules a
 * reminder (a refused time brings the form back with what was typed), narrows the list to that
 * conversation and cancels the reminder; the server agrees at each step and nothing is sent.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setupWhatsApp } from '../channels/whatsapp-setup.ts';
import { say } from '../toolkits/commerce-setup.ts';
import { fitsWidth, gotoScreen, SCREEN_TIMEOUT_MS, SIZES, startTui, tmuxSkip } from './tmux.ts';

const skip = tmuxSkip();

for (const { cols, rows } of SIZES) {
  test(`reminders at ${cols}x${rows}: schedule to a picked conversation, filter to it, cancel`, { skip }, async () => {
    await using s = await setupWhatsApp();
    await s.grant(['first_party:scheduling']);
    s.upstream.script({ json: say('Hi! How can I help?') });
    await s.send('Hello');
    await s.waitForSent(1, SCREEN_TIMEOUT_MS);
    const org = `/organizations/${s.tenant.orgId}`;
    const list = async () => (await s.t.api('GET', `${org}/scheduled-messages?instanceId=${s.instance.id}`, { token: s.tenant.ownerToken })).json.data;

    await using tui = await startTui({ url: s.t.url, token: s.tenant.ownerToken, cols, rows });
    await gotoScreen(tui, 'Reminders');
    await tui.waitFor('the empty list', '(no reminders; press n to schedule one)');
    tui.keys('n');
    await tui.waitFor('the conversation picker', /Customer on Support[\s\S]*\+1415•••0123/);
    tui.keys('Enter');
    await tui.waitFor('the reminder form', 'Message:');
    tui.type('Your bike is ready for pick-up.');
    tui.keys('Enter', 'C-u');
    tui.type('next week');
    tui.keys('Enter', 'Enter');
    await tui.waitFor('the refused time, the form back with it', (sc) => sc.includes('When: "next week" is not a time') && /When \(30m, 2h, ISO\): *next week/.test(sc));
    tui.keys('Enter', 'C-u');
    tui.type('2h');
    tui.keys('Enter', 'Enter');
    await tui.waitFor('the scheduled reminder', (sc) => sc.includes('Reminder scheduled for') && /scheduled +wcr_\S+ +Your bike is ready/.test(sc));
    const [m] = await list();
    assert.deepEqual([m.status, m.text, m.createdBy], ['scheduled', 'Your bike is ready for pick-up.', 'operator']);
    const inTwoHours = Date.parse(m.sendAt) - Date.now();
    assert.ok(inTwoHours > 7_000_000 && inTwoHours <= 7_200_000, m.sendAt);

    tui.keys('f');
    await tui.waitFor('the conversation picker again', /Customer on Support/);
    tui.keys('Enter');
    await tui.waitFor('the list of one conversation', (sc) => sc.includes('Reminders: +1415•••0123') && /scheduled +wcr_\S+ +Your bike/.test(sc));
    tui.keys('x');
    await tui.waitFor('the cancel confirmation', 'Cancel the reminder for');
    tui.keys('y');
    await tui.waitFor('the cancelled reminder', /cancelled +wcr_\S+ +Your bike/);
    assert.equal((await list())[0].status, 'cancelled');
    tui.keys('x');
    await tui.waitFor('cancel refused once cancelled', 'cancel: only a scheduled reminder can be cancelled');
    assert.equal(s.twilio.messages.length, 1, 'nothing but the bot\'s first answer was sent');
    assert.ok(fitsWidth(tui.capture(), cols), 'nothing is drawn past the right edge');
    await tui.quit();
  });
}
