/**
 * End to end, at 160×48 and 80×24: a real server with the Escalations and Scheduling toolkits
 * granted to a WhatsApp number, the scripted model handing a conversation over (signed inbound
 * message), the Twilio fake reached by the real SDK, and the real TUI in tmux. The hand-over
 * appears in the Inbox by itself (live stream), with the conversation; the operator takes it,
 * replies (the reply reaches the Twilio fake exactly once), schedules and cancels a reminder, and
 * resolves it, after which the bot answers the customer again.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../helpers/factories.ts';
import { ALICE, setupWhatsApp } from '../channels/whatsapp-setup.ts';
import { calls, dynamic, lastResult, say } from '../toolkits/commerce-setup.ts';
import { fitsWidth, gotoScreen, SCREEN_TIMEOUT_MS, SIZES, startTui, tmuxSkip } from './tmux.ts';

const skip = tmuxSkip();

for (const { cols, rows } of SIZES) {
  test(`inbox at ${cols}x${rows}: hand-over appears, take, reply reaches Twilio, reminder scheduled and cancelled, resolve hands back`, { skip }, async () => {
    await using s = await setupWhatsApp();
    await s.grant(['first_party:escalations', 'first_party:scheduling']);
    const org = `/organizations/${s.tenant.orgId}`;
    const owner = async (method: string, path: string, body?: unknown) => (await s.t.api(method, `${org}${path}`, { token: s.tenant.ownerToken, body })).json;

    await using tui = await startTui({ url: s.t.url, token: s.tenant.ownerToken, cols, rows });
    await gotoScreen(tui, 'Inbox');
    await tui.waitFor('the empty inbox', '(nobody is waiting for a person)');

    s.upstream.script(
      { json: calls({ name: 'escalations__hand_over', arguments: { reason: 'Customer asks for a person', summary: 'Delivery arrived broken.', priority: 'high' } }) },
      dynamic((req) => {
        assert.equal(lastResult(req).status, 'ok', lastResult(req).text);
        return say('(closing words after the hand-over)');
      }),
    );
    await s.send('I want to talk to a human, my delivery arrived broken.');
    await s.waitForSent(1, SCREEN_TIMEOUT_MS); // the one acknowledgement
    const modelCalls = s.upstream.requests.length;

    // No key pressed: the live stream brings it in, with the whole conversation below.
    await tui.waitFor('the hand-over in the inbox', (sc) => /high +pending +\+1415/.test(sc) && sc.includes('1 waiting') && sc.includes('pending high, assigned to nobody') && sc.includes('person will answer you here'));
    // At 160x48 the whole history fits; at 80x24 the panel shows its latest lines (Right scrolls it).
    if (rows >= 48) await tui.waitFor('the whole history', (sc) => sc.includes('my delivery arrived broken') && sc.includes('Reason: Customer asks for a person'));
    await s.send('Hello? Anyone there?');
    await tui.waitFor('the message sent while held', 'Hello? Anyone there?');

    tui.keys('t');
    await tui.waitFor('the conversation assigned to me', (sc) => /high +assigned +\+1415/.test(sc) && sc.includes('assigned high, assigned to me'));

    tui.keys('r');
    await tui.waitFor('the reply form', 'Reply:');
    const answer = 'Sorry about that! A new one ships today.';
    tui.type(answer);
    tui.keys('Enter');
    await tui.waitFor('the reply sent', (sc) => sc.includes('Sent to +1415') && sc.includes(answer));
    const sent = await s.waitForSent(2, SCREEN_TIMEOUT_MS);
    assert.equal(sent[1].body, answer);
    assert.equal(sent[1].to, ALICE);

    tui.keys('n');
    await tui.waitFor('the reminder form', 'Message:');
    tui.type('Your replacement is on its way.');
    tui.keys('Enter', 'Enter', 'Enter');
    await tui.waitFor('the reminder scheduled', (sc) => sc.includes('Reminder scheduled for') && /scheduled +Your replacement/.test(sc));
    const [reminder] = (await owner('GET', `/scheduled-messages?instanceId=${s.instance.id}`)).data;
    assert.equal(reminder.status, 'scheduled');
    assert.equal(reminder.createdBy, 'operator');
    tui.keys('x');
    await tui.waitFor('the reminder to cancel', 'Cancel which reminder?');
    tui.keys('Enter');
    await tui.waitFor('the reminder cancelled', /cancelled +Your replacement/);
    assert.equal((await owner('GET', `/scheduled-messages/${reminder.id}`)).status, 'cancelled');

    assert.equal(s.upstream.requests.length, modelCalls, 'the model was not called while a person held the conversation');
    tui.keys('v');
    await tui.waitFor('the resolve form', 'hand +1415');
    tui.type('Replacement shipped');
    tui.keys('Enter');
    await tui.waitFor('the inbox empty again', (sc) => sc.includes('Resolved: the bot answers') && sc.includes('(nobody is waiting for a person)'));
    const [esc] = (await owner('GET', '/escalations?status=resolved')).data;
    assert.equal(esc.resolutionNote, 'Replacement shipped');

    // Handed back: the bot answers the next message.
    s.upstream.script({ json: say('Happy to help again!') });
    await s.send('Thanks!');
    const after = await s.waitForSent(3, SCREEN_TIMEOUT_MS);
    assert.equal(after[2].body, 'Happy to help again!');
    await waitFor('the model called again', () => s.upstream.requests.length > modelCalls, SCREEN_TIMEOUT_MS);
    assert.equal(s.twilio.messages.length, 3, 'the reply was sent exactly once');
    assert.ok(fitsWidth(tui.capture(), cols), 'nothing is drawn past the right edge');
    await tui.quit();
  });
}

const TEMPLATE_SID = `HX${'cd34'.repeat(8)}`;

test('inbox at 80x24: after the 24-hour window the reply form asks for a template; a Twilio 503 is retried with the same message id and sent once', { skip }, async () => {
  await using s = await setupWhatsApp();
  await s.grant(['first_party:escalations']);
  const org = `/organizations/${s.tenant.orgId}`;
  const owner = async (method: string, path: string, body?: unknown) => s.t.api(method, `${org}${path}`, { token: s.tenant.ownerToken, body });
  s.upstream.script({ json: say('Hello!') });
  await s.send('Hi');
  await s.waitForSent(1, SCREEN_TIMEOUT_MS);
  const conv = (await owner('GET', `/whatsapp-instances/${s.instance.id}/conversations`)).json.data[0];
  const opened = await owner('POST', '/escalations', { instanceId: s.instance.id, customerRef: conv.customerRef, reason: 'VIP customer', priority: 'urgent' });
  assert.equal(opened.status, 201, opened.text);
  // The customer's 24-hour window closes.
  s.t.app.db.prepare('UPDATE whatsapp_customers SET last_inbound_at = last_inbound_at - ? WHERE org_id = ?').run(25 * 3600_000, s.tenant.orgId);

  await using tui = await startTui({ url: s.t.url, token: s.tenant.ownerToken, cols: 80, rows: 24 });
  await gotoScreen(tui, 'Inbox');
  await tui.waitFor('the escalation opened by hand', /urgent +pending +\+1415/);
  tui.keys('r');
  await tui.waitFor('the reply form', 'Reply:');
  tui.type('Are you still there?');
  tui.keys('Enter');
  await tui.waitFor('the form back with a template field and the text kept', (sc) => sc.includes('Template HX…:') && /Reply: +Are you still there\?/.test(sc) && sc.includes('has not written for 24 hours'));
  assert.equal(s.twilio.messages.length, 1, 'nothing sent without a template');
  tui.keys('Enter');
  tui.type(TEMPLATE_SID);
  tui.keys('Enter');
  await tui.waitFor('sent as a template', 'as a template: the window had closed');
  const sent = await s.waitForSent(2, SCREEN_TIMEOUT_MS);
  assert.equal(sent[1].contentSid, TEMPLATE_SID);

  // Twilio stores the message but its answer is a 503: the form stays with the same text, and Enter retries
  // with the same clientMessageId, so the server finds the stored message instead of sending a second one.
  s.twilio.failNext({ match: 'create', afterCreate: true, status: 503, code: 20500, message: 'Service unavailable' });
  tui.keys('r');
  await tui.waitFor('the reply form again', 'Reply:');
  tui.type('Following up');
  tui.keys('Enter');
  await tui.waitFor('the template field again', 'Template HX…:');
  tui.keys('Enter');
  tui.type(TEMPLATE_SID);
  tui.keys('Enter');
  await tui.waitFor('the transient failure, with the form kept for a retry', (sc) => sc.includes('Not sent:') && /Reply: +Following up/.test(sc));
  assert.equal(s.twilio.messages.length, 3, 'Twilio has it, the server does not know yet');
  tui.keys('Enter', 'Enter');
  await tui.waitFor('the retry sent', (sc) => sc.includes('Sent to +1415') && !sc.includes('Template HX…:'));
  const esc = (await owner('GET', `/escalations/${opened.json.id}`)).json;
  assert.equal(esc.replyCount, 2, 'two replies, the retried one counted once');
  assert.equal(s.twilio.messages.length, 3, 'the retry did not send it a second time');
  await tui.quit();
});
