/**
 * The operator's WhatsApp tasks in the real TUI (tmux) against a real server, at 160×48 and 80×24:
 * create a number (a refused form keeps its values), see its webhook URL with the not-public
 * warning, grant a plugin in the matrix, pause, edit and delete it; then with the Twilio fake: read a conversation
 * with a failed reply's status and error, follow it to its job's reason and requeue it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startApp } from '../helpers/app.ts';
import { waitFor } from '../helpers/factories.ts';
import { chatCompletion } from '../fakes/openai-upstream.ts';
import { setupWhatsApp } from '../channels/whatsapp-setup.ts';
import { fitsWidth, SIZES, startTui, tmuxSkip } from './tmux.ts';

const skip = tmuxSkip();

for (const { cols, rows } of SIZES) {
  test(`numbers: create (kept values after a refusal), webhook URL + warning, grant in the matrix, pause, edit, delete — ${cols}x${rows}`, { skip }, async () => {
    await using t = await startApp({ PLUGBOARD_PUBLIC_BASE_URL: 'http://127.0.0.1:8080' });
    const { orgId, ownerToken } = t.tenant('Acme');
    await using tui = await startTui({ url: t.url, token: ownerToken, cols, rows });
    await tui.waitFor('the numbers screen', (s) => s.includes('[1 Numbers]') && s.includes('no WhatsApp numbers'));

    tui.keys('n');
    await tui.waitFor('the new-number form', 'Sender (+E.164):');
    tui.type('Front desk');
    tui.keys('Enter');
    tui.type('12345'); // not E.164 with a leading + → the server refuses
    tui.keys('Enter');
    tui.type(`AC${'0'.repeat(32)}`);
    tui.keys('Enter');
    tui.type('tw-secret-token');
    tui.keys('Enter');
    tui.type('gpt-test');
    tui.keys('Enter', 'Enter', 'Enter', 'Enter');
    const refused = await tui.waitFor('the form again with the error', (s) => s.includes('whatsapp:+E.164') && s.includes('Sender (+E.164):'));
    assert.match(refused, /Name: +Front desk/, 'values are kept after the error');
    tui.keys('Down', 'C-u');
    tui.type('+15550001');
    for (let i = 0; i < 7; i++) tui.keys('Enter');
    const shown = await tui.waitFor('the webhook URL', (s) => /http:\/\/127\.0\.0\.1:8080\/webhooks\/twilio\/whatsapp\/\S+/.test(s) && s.includes('Front desk'));
    const list = await t.api('GET', `/organizations/${orgId}/whatsapp-instances`, { token: ownerToken, orgId });
    assert.equal(list.json.data.length, 1, list.text);
    const inst = list.json.data[0];
    assert.equal(inst.sender, 'whatsapp:+15550001');
    assert.ok(shown.split('\n').some((l) => l.replace(/^[│ ]+/, '').startsWith(inst.webhookUrl.slice(0, Math.min(inst.webhookUrl.length, cols - 4)))), 'the URL starts its own line');
    assert.match(shown, /WARNING: Twilio cannot call this URL/);
    assert.ok(fitsWidth(shown, cols));

    tui.keys('2');
    await tui.waitFor('the grants matrix', (s) => s.includes('[Front desk]') && s.includes('>[ ]<'));
    tui.keys('Space');
    await tui.waitFor('the granted cell', (s) => s.includes('>[x]<') && s.includes('granted to Front desk'));
    const plugins = await t.api('GET', `/organizations/${orgId}/plugins`, { token: ownerToken, orgId });
    const grants = await t.api('GET', `/organizations/${orgId}/whatsapp-instances/${inst.id}/plugins`, { token: ownerToken, orgId });
    assert.deepEqual(grants.json.enabledPluginIds, [plugins.json.data[0].id]);

    tui.keys('1');
    await tui.waitFor('the numbers screen again', '[1 Numbers]');
    tui.keys('p');
    await tui.waitFor('the paused number', /Front desk +whatsapp:\+15550001 +paused/);
    const after = await t.api('GET', `/organizations/${orgId}/whatsapp-instances/${inst.id}`, { token: ownerToken, orgId });
    assert.equal(after.json.status, 'paused');

    // Edit: the form comes filled in; an empty auth token keeps the stored one.
    tui.keys('e');
    await tui.waitFor('the edit form', (s) => s.includes('Edit Front desk') && /Name: +Front desk/.test(s) && s.includes('Auth token (keep):'));
    tui.keys('C-u');
    tui.type('Back office');
    for (let i = 0; i < 8; i++) tui.keys('Enter');
    await tui.waitFor('the renamed number', /Back office +whatsapp:\+15550001 +paused/);
    const renamed = await t.api('GET', `/organizations/${orgId}/whatsapp-instances/${inst.id}`, { token: ownerToken, orgId });
    assert.equal(renamed.json.name, 'Back office');

    // Delete, confirmed.
    tui.keys('x');
    await tui.waitFor('the delete confirmation', 'Delete the number "Back office"');
    tui.keys('y');
    await tui.waitFor('the number gone', (s) => s.includes('Deleted Back office.') && s.includes('no WhatsApp numbers'));
    const gone = await t.api('GET', `/organizations/${orgId}/whatsapp-instances/${inst.id}`, { token: ownerToken, orgId });
    assert.equal(gone.status, 404);
    await tui.quit();
  });

  test(`a failed reply: read the conversation, follow it to the job's reason, requeue it — ${cols}x${rows}`, { skip }, async () => {
    await using s = await setupWhatsApp();
    s.upstream.script({ json: chatCompletion({ content: 'Hello from Acme!' }) });
    s.twilio.failNext({ match: 'create', status: 400, code: 63016, message: 'Outside the allowed window' });
    await s.send('hi there');
    await waitFor('a dead job', async () => {
      const r = await s.t.api('GET', `/organizations/${s.tenant.orgId}/jobs?status=dead`, { token: s.tenant.ownerToken, orgId: s.tenant.orgId });
      return r.json.data.length === 1;
    }, 30_000);

    await using tui = await startTui({ url: s.t.url, token: s.tenant.ownerToken, cols, rows });
    await tui.waitFor('the numbers screen', (x) => x.includes('Support') && x.includes('https://pb.example.com/webhooks/twilio/whatsapp/'));
    assert.doesNotMatch(tui.capture(), /WARNING/, 'a public https URL gets no warning');
    tui.keys('9');
    await tui.waitFor('the failed send in the live log', /job \d+ +send_failed +twilio 63016 +error/);
    tui.keys('1');
    await tui.waitFor('the numbers screen again', (x) => x.includes('[1 Numbers]') && x.includes('Support'));
    tui.keys('Enter'); // the number's conversations
    await tui.waitFor('the conversation list', (x) => x.includes('[3 Chats]') && /\*{2,}|•|\d{2,}/.test(x) && x.includes('Conversations of Support'));
    tui.keys('Enter');
    const thread = await tui.waitFor('the thread', (x) => x.includes('hi there') && x.includes('Hello from Acme!'));
    assert.match(thread, /→ reply part 1 +\[FAILED\]/);
    assert.match(thread, /Twilio error 63016: outside the 24-hour window/);
    assert.match(thread, /1 failed: j jobs/);
    tui.keys('j');
    const jobs = await tui.waitFor('the job with its reason', (x) => x.includes('[4 Jobs]') && /dead/.test(x) && /63016/.test(x) && x.includes('of 1 failed message'));
    assert.ok(fitsWidth(jobs, cols));
    tui.keys('r');
    await tui.waitFor('the requeued job', /Job \d+ requeued/);
    await s.waitForSent(1, 30_000);
    assert.equal(s.twilio.messages[0].body, 'Hello from Acme!');
    await tui.quit();
  });
}
