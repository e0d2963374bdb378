/**
 * Shared set-up for the WhatsApp channel tests: a real app with the scripted fake upstream and
 * the Twilio REST fake (reached through the real SDK), a tenant with one number instance created
 * through the control API, and a "customer" that sends signed webhooks the way Twilio does
 * (signed over the public URL, posted to the loopback one). Everything is loopback and disposable.
 */
import assert from 'node:assert/strict';
import { startApp, type TestApp, type Tenant } from '../helpers/app.ts';
import { startFakeUpstream, type FakeUpstream } from '../fakes/openai-upstream.ts';
import { startFakeTwilio, type FakeTwilio, type StoredMessage } from '../fakes/twilio-api.ts';
import { deliverTwilioWebhook, inboundParams, statusParams } from '../fakes/twilio-webhooks.ts';
import { waitFor } from '../helpers/factories.ts';

/** The public origin Twilio "calls" (signatures are computed over it). */
export const PUBLIC_BASE = 'https://pb.example.com';
export const SENDER = 'whatsapp:+14155550100';
export const ALICE = 'whatsapp:+14155550123';
export const BOB = 'whatsapp:+14155550199';

export interface WhatsAppSetup extends AsyncDisposable {
  t: TestApp;
  upstream: FakeUpstream;
  twilio: FakeTwilio;
  tenant: Tenant;
  /** The instance as the create call returned it. */
  instance: Record<string, any>;
  createInstance(body?: Record<string, unknown>, tenant?: Tenant): Promise<Record<string, any>>;
  grant(enabledPluginIds: string[], instanceId?: string): Promise<void>;
  /** Posts a signed inbound message; returns the HTTP answer. */
  send(text: string, opts?: { from?: string; messageSid?: string; instanceId?: string; media?: Array<{ url: string; contentType: string }> }): Promise<{ status: number; contentType: string | null; text: string }>;
  /** Posts a signed status callback for an outbound message. */
  status(sid: string, status: string, errorCode?: number): Promise<{ status: number; contentType: string | null; text: string }>;
  /** Waits until the fake Twilio holds `n` messages. */
  waitForSent(n: number, timeoutMs?: number): Promise<StoredMessage[]>;
  webhookPath(instanceId?: string): string;
}

export async function setupWhatsApp(env: Record<string, string> = {}): Promise<WhatsAppSetup> {
  const upstream = await startFakeUpstream();
  const twilio = await startFakeTwilio();
  const t = await startApp({
    PLUGBOARD_UPSTREAM_BASE_URL: upstream.url,
    PLUGBOARD_TWILIO_API_BASE_URL: twilio.origin,
    PLUGBOARD_PUBLIC_BASE_URL: PUBLIC_BASE,
    PLUGBOARD_WORKER_POLL_MS: '20',
    PLUGBOARD_WORKER_RETRY_BASE_MS: '20',
    PLUGBOARD_WORKER_RETRY_CAP_MS: '200',
    PLUGBOARD_TWILIO_TIMEOUT_MS: '2000',
    PLUGBOARD_MCP_ALLOWED_NETWORKS: '127.0.0.0/8',
    ...env,
  });
  const tenant = t.tenant();
  let senders = 100;

  async function createInstance(body: Record<string, unknown> = {}, who: Tenant = tenant) {
    const res = await t.api('POST', `/organizations/${who.orgId}/whatsapp-instances`, {
      token: who.ownerToken, orgId: who.orgId,
      body: {
        name: `Support ${senders}`, sender: `whatsapp:+14155550${++senders}`, twilioAccountSid: twilio.accountSid, twilioAuthToken: twilio.authToken,
        systemPrompt: 'You are the helpful assistant of Acme Bikes.', model: 'gpt-test', ...body,
      },
    });
    assert.equal(res.status, 201, res.text);
    return res.json;
  }
  const instance = await createInstance({ name: 'Support', sender: SENDER });

  const webhookPath = (instanceId = instance.id as string) => `/webhooks/twilio/whatsapp/${instanceId}`;
  const setup: WhatsAppSetup = {
    t, upstream, twilio, tenant, instance, createInstance, webhookPath,
    async grant(enabledPluginIds, instanceId = instance.id) {
      const res = await t.api('PUT', `/organizations/${tenant.orgId}/whatsapp-instances/${instanceId}/plugins`, {
        token: tenant.ownerToken, orgId: tenant.orgId, body: { enabledPluginIds },
      });
      assert.equal(res.status, 200, res.text);
    },
    async send(text, opts = {}) {
      const path = webhookPath(opts.instanceId);
      const inst = opts.instanceId ? (await t.api('GET', `/organizations/${tenant.orgId}/whatsapp-instances/${opts.instanceId}`, { token: tenant.ownerToken })).json : instance;
      return deliverTwilioWebhook({
        url: t.url + path, signedUrl: PUBLIC_BASE + path, authToken: twilio.authToken,
        params: inboundParams({ accountSid: twilio.accountSid, from: opts.from ?? ALICE, to: inst.sender, body: text, messageSid: opts.messageSid, media: opts.media }),
      });
    },
    async status(sid, status, errorCode) {
      const path = `/webhooks/twilio/status?instanceId=${instance.id}`;
      return deliverTwilioWebhook({
        url: t.url + path, signedUrl: PUBLIC_BASE + path, authToken: twilio.authToken,
        params: statusParams({ accountSid: twilio.accountSid, messageSid: sid, status, from: SENDER, to: ALICE, ...(errorCode !== undefined && { errorCode }) }),
      });
    },
    async waitForSent(n, timeoutMs = 5000) {
      await waitFor(`${n} message(s) at the fake Twilio (have ${twilio.messages.length})`, () => twilio.messages.length >= n, timeoutMs);
      return twilio.messages;
    },
    async [Symbol.asyncDispose]() {
      await t.close();
      await twilio.close();
      await upstream.close();
    },
  };
  return setup;
}

/** The text of the last user message of an upstream request. */
export function lastUserText(body: Record<string, unknown> | null): string {
  const msgs = (body?.messages as Array<{ role: string; content: string }>) ?? [];
  return [...msgs].reverse().find((m) => m.role === 'user')?.content ?? '';
}

/** The tool names an upstream request offered, sorted. */
export function offeredTools(body: Record<string, unknown> | null): string[] {
  return ((body?.tools as Array<{ function: { name: string } }>) ?? []).map((x) => x.function.name).sort();
}
