/**
 * Sends one signed tool call to a running plugin, as Plugboard would, so you can try your endpoint
 * before you register it. Dependency-free (Node >= 22.18).
 *
 *   DELIVERY_PLUGIN_SECRET=whsec_… node examples/delivery-plugin/call.ts lookup_delivery '{"orderNumber":"MAT-2026-0510-0041"}'
 *
 * Env: DELIVERY_PLUGIN_URL (default http://127.0.0.1:8787/tools/call). The config sent is a
 * placeholder; context ids are made up. Prints the status and the answer.
 */
import { createHmac, randomUUID } from 'node:crypto';

const [tool, inputText = '{}'] = process.argv.slice(2);
const secret = process.env.DELIVERY_PLUGIN_SECRET;
if (!tool || !secret) {
  console.error('usage: DELIVERY_PLUGIN_SECRET=whsec_… node examples/delivery-plugin/call.ts <tool> [input JSON]');
  process.exit(1);
}
const url = process.env.DELIVERY_PLUGIN_URL ?? 'http://127.0.0.1:8787/tools/call';
const body = JSON.stringify({
  tool,
  input: JSON.parse(inputText),
  mode: 'sandbox',
  context: { organizationId: 'org_try', installationId: 'inst_try', instanceId: null, customerId: null, conversationId: null, requestId: `req_${randomUUID()}` },
  config: { api_key: 'ak_tryitout0000000000', account_id: 'TRY-1', depot: 'jhb', express_by_default: false },
  bridge: null,
});
const id = `call_${randomUUID()}`;
const timestamp = Math.floor(Date.now() / 1000);
const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
const signature = createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64');
const res = await fetch(url, {
  method: 'POST',
  headers: { 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': `v1,${signature}` },
  body,
});
console.log(res.status, await res.text());
