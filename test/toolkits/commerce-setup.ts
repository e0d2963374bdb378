/**
 * Shared set-up for the E-Commerce and Payments tests: the WhatsApp set-up (real app, scripted
 * upstream, Twilio fake through the real SDK), a catalogue created through the control API, a
 * payment provider bound by the owner, both toolkits granted to the number, and helpers to script
 * the model's turns from what it was sent (tool results) and to read tool results back.
 */
import assert from 'node:assert/strict';
import { chatCompletion, type ReceivedRequest, type ScriptedTurn, type ToolCallSpec } from '../fakes/openai-upstream.ts';
import { setupWhatsApp, type WhatsAppSetup } from '../channels/whatsapp-setup.ts';
import type { Tenant } from '../helpers/app.ts';

export const CATALOGUE = [
  { sku: 'HELMET-1', name: 'City helmet', description: 'A light helmet for city rides.', priceMinor: 2500, currency: 'EUR', stock: 10 },
  { sku: 'LOCK-1', name: 'D-lock', description: 'A strong lock.', priceMinor: 1999, currency: 'EUR', stock: null },
  { sku: 'BELL-1', name: 'Bell', description: 'Ding.', priceMinor: 500, currency: 'EUR', stock: 1 },
  { sku: 'OLD-1', name: 'Discontinued pump', description: 'No longer sold.', priceMinor: 900, currency: 'EUR', stock: null, active: false },
] as const;

export const PAID_TEMPLATE_SID = `HX${'ab12'.repeat(8)}`;

export interface CommerceSetup extends WhatsAppSetup {
  products: Record<string, any>;
  /** Calls the control API as the owner of the set-up's tenant (or `tenant`). */
  owner(method: string, path: string, body?: unknown, tenant?: Tenant): Promise<{ status: number; json: any; text: string }>;
  org: string;
}

export async function setupCommerce(env: Record<string, string> = {}, opts: { binding?: Record<string, unknown> | null; grant?: string[] } = {}): Promise<CommerceSetup> {
  const s = await setupWhatsApp({ PLUGBOARD_PAYMENTS_POLL_MS: '600000', ...env });
  const org = `/organizations/${s.tenant.orgId}`;
  const owner = async (method: string, path: string, body?: unknown, tenant: Tenant = s.tenant) => {
    const res = await s.t.api(method, path.startsWith('/') ? path : `/organizations/${tenant.orgId}/${path}`, { token: tenant.ownerToken, body });
    return { status: res.status, json: res.json, text: res.text };
  };
  const products: Record<string, any> = {};
  for (const p of CATALOGUE) {
    const res = await owner('POST', `${org}/products`, p);
    assert.equal(res.status, 201, res.text);
    products[p.sku] = res.json;
  }
  if (opts.binding !== null) {
    const res = await owner('PUT', `${org}/payment-binding`, opts.binding ?? { provider: 'sandbox', settings: { paidTemplate: { contentSid: PAID_TEMPLATE_SID, variables: { 1: '{order}', 2: '{amount}' } } } });
    assert.equal(res.status, 200, res.text);
  }
  await s.grant(opts.grant ?? ['first_party:ecommerce', 'first_party:payments']);
  return Object.assign(s, { products, owner, org });
}

/** A turn whose answer is computed from the request it answers (e.g. from a tool result). */
export function dynamic(answer: (req: ReceivedRequest) => unknown): ScriptedTurn {
  const turn: ScriptedTurn = {
    expect(req) {
      turn.json = answer(req);
    },
  };
  return turn;
}

/** The tool results of the request's last turn, parsed: `{ tool, status, body }` (body is JSON when it parses, else the text). */
export function toolResults(req: ReceivedRequest): Array<{ tool: string; status: string; body: any; text: string }> {
  const msgs = (req.body?.messages as Array<{ role: string; content: string }>) ?? [];
  const lastAssistant = msgs.map((m) => m.role).lastIndexOf('assistant');
  return msgs.slice(lastAssistant + 1).filter((m) => m.role === 'tool').map((m) => {
    const head = /^<tool_result tool="([^"]+)" status="(ok|error)">\n/.exec(m.content);
    const text = m.content.replace(/^<tool_result[^>]*>\n/, '').replace(/\n<\/tool_result>$/, '');
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // an error text
    }
    return { tool: head?.[1] ?? '', status: head?.[2] ?? '', body, text };
  });
}

/** The last tool result of a request (the model's latest turn). */
export const lastResult = (req: ReceivedRequest) => toolResults(req).at(-1)!;

export const calls = (...c: ToolCallSpec[]) => chatCompletion({ toolCalls: c });
export const say = (content: string) => chatCompletion({ content });

/**
 * The model's side of "I'd like two helmets and a lock": create the order, then a payment link,
 * then answer with the link. `onLink` sees the payment tool result.
 */
export function orderAndPayScript(items: Array<{ sku: string; quantity: number }>, onLink?: (result: any) => void): ScriptedTurn[] {
  return [
    { json: calls({ name: 'ecommerce__create_order', arguments: { items } }) },
    dynamic((req) => {
      const r = lastResult(req);
      assert.equal(r.status, 'ok', r.text);
      return calls({ name: 'payments__create_payment_link', arguments: { orderNumber: r.body.orderNumber } });
    }),
    dynamic((req) => {
      const r = lastResult(req);
      assert.equal(r.status, 'ok', r.text);
      onLink?.(r.body);
      return say(`Your order #${r.body.orderNumber} comes to ${r.body.amount}. Pay here: ${r.body.payUrl ?? r.body.instructions}`);
    }),
  ];
}
