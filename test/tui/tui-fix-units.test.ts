/**
 * Pure parts of the tui-fix changes: the payment binding form (fields per provider, prefilled from
 * the current binding but never with a secret, parsed into the PUT or PATCH body, local refusals
 * naming the field), the Stripe webhook text (the URL cut to the dialog's width, no secret), and
 * the shell's dialogs counting a custom modal (`holdModal`) or grabbed keys as open, so a tab click
 * cannot switch the pane under it, and closing it on quit or organisation switch. Last, the binding
 * client calls against a real server (PUT and PATCH as the form sends them).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Widgets } from 'blessed';
import type { BindPaymentProviderRequest, PaymentBinding } from '../../src/shared/api.ts';
import { createCommerceClient } from '../../tui/client-biz.ts';
import { ApiError, createApiClient } from '../../tui/client.ts';
import { createDialogs, holdModal } from '../../tui/dialogs.ts';
import { startApp } from '../helpers/app.ts';
import {
  bindingChoices, bindingFormFields, bindingFormTitle, bindingLine, formatDuration, parseBindingForm, parseDuration, parseTemplateVariables,
  STRIPE_WEBHOOK_EVENTS, stripeWebhookText,
} from '../../tui/views/commerce.ts';

const SID = `HX${'ab12'.repeat(8)}`;
const binding = (over: Partial<PaymentBinding>): PaymentBinding => ({
  id: 'pbd_1', object: 'payment_binding', provider: 'manual', status: 'active',
  settings: {
    successUrl: null, cancelUrl: null, instructionsTemplate: 'Transfer {amount} quoting {reference}', paidTemplate: { contentSid: SID, variables: { 1: '{order}', 2: '{amount}' } },
    paidText: 'Thanks!', refundsRequireApproval: false, linkExpiresInSeconds: 1800,
  },
  stripe: null, createdAt: null, updatedAt: null, ...over,
});
const stripeBinding = binding({
  id: 'pbd_0123456789abcdef0123456789abcdef', provider: 'stripe',
  settings: { ...binding({}).settings, instructionsTemplate: null, successUrl: 'https://shop.example/thanks' },
  stripe: { secretKeyConfigured: true, secretKeyHint: 'sk_test_…4242', webhookSecretConfigured: true, livemode: false, webhookUrl: 'https://pb.example.com/webhooks/payments/stripe/pbd_0123456789abcdef0123456789abcdef' },
});

test('binding choices: the current binding can be changed (same id); each provider can be bound; labels fit the pick list at 80 columns', () => {
  assert.deepEqual(bindingChoices(null).map((c) => c.value), ['sandbox', 'manual', 'stripe']);
  const withCurrent = bindingChoices(binding({}));
  assert.deepEqual(withCurrent.map((c) => c.value), ['update', 'sandbox', 'manual', 'stripe']);
  for (const c of withCurrent) assert.ok(c.label.length <= 46, c.label);
  assert.match(bindingFormTitle('stripe', binding({}), false), /retires the manual binding/);
  assert.match(bindingFormTitle('stripe', stripeBinding, true), /empty secret: keep/);
  assert.match(bindingLine(null), /the owner binds one with b/);
});

test('binding form fields: per provider, settings carried over, secrets never prefilled, labels fit the form', () => {
  const names = (f: ReturnType<typeof bindingFormFields>) => f.map((x) => x.name);
  assert.deepEqual(names(bindingFormFields('sandbox', null, false)), ['paidText', 'paidTemplate', 'templateVars', 'approval', 'linkExpires']);
  assert.deepEqual(names(bindingFormFields('manual', null, false)).slice(0, 1), ['instructions']);
  const stripe = bindingFormFields('stripe', stripeBinding, true);
  assert.deepEqual(names(stripe).slice(0, 4), ['secretKey', 'webhookSecret', 'successUrl', 'cancelUrl']);
  for (const f of stripe) assert.ok(f.label.length <= 17, f.label);
  assert.deepEqual(stripe.filter((f) => f.secret).map((f) => [f.name, f.value]), [['secretKey', ''], ['webhookSecret', '']]);
  assert.equal(stripe.find((f) => f.name === 'successUrl')!.value, 'https://shop.example/thanks');
  // A re-bind from manual to sandbox keeps the common settings, not the manual instructions.
  const sandbox = bindingFormFields('sandbox', binding({}), false);
  const value = (n: string) => sandbox.find((f) => f.name === n)?.value;
  assert.equal(value('paidText'), 'Thanks!');
  assert.equal(value('paidTemplate'), SID);
  assert.equal(value('templateVars'), '1={order}; 2={amount}');
  assert.equal(value('approval'), 'not required');
  assert.equal(value('linkExpires'), '30m');
  assert.equal(value('instructions'), undefined);
  // Stripe's URLs are not carried from another provider.
  assert.equal(bindingFormFields('stripe', binding({}), false).find((f) => f.name === 'successUrl')!.value, '');
});

test('binding form parsing: PUT and PATCH bodies, secrets as typed and only for Stripe, local refusals name the field', () => {
  const common = { paidText: '', paidTemplate: '', templateVars: '', approval: 'required', linkExpires: '12h' };
  assert.deepEqual(parseBindingForm('sandbox', common, false), {
    body: { provider: 'sandbox', settings: { paidText: null, paidTemplate: null, refundsRequireApproval: true, linkExpiresInSeconds: 43_200 } },
  });
  const manual = parseBindingForm('manual', { ...common, instructions: ' Pay {amount} quoting {reference} ', paidTemplate: SID, templateVars: '1={order}; 2={amount}', approval: 'not required', linkExpires: '1d' }, false);
  assert.ok('body' in manual);
  assert.deepEqual(manual.body.settings, {
    instructionsTemplate: 'Pay {amount} quoting {reference}', paidText: null, paidTemplate: { contentSid: SID, variables: { 1: '{order}', 2: '{amount}' } },
    refundsRequireApproval: false, linkExpiresInSeconds: 86_400,
  });
  const key = 'sk_test_abcdefgh12345678';
  const hook = 'whsec_abcdefgh12345678';
  const bind = parseBindingForm('stripe', { ...common, secretKey: key, webhookSecret: hook, successUrl: 'https://a.example/ok', cancelUrl: '' }, false);
  assert.ok('body' in bind);
  assert.deepEqual((bind.body as { stripe: unknown }).stripe, { secretKey: key, webhookSecret: hook });
  assert.equal(bind.body.settings?.successUrl, 'https://a.example/ok');
  assert.equal(bind.body.settings?.cancelUrl, null);
  // PATCH: an empty secret keeps the stored one; none typed → no `stripe` at all.
  const rotate = parseBindingForm('stripe', { ...common, secretKey: '', webhookSecret: hook, successUrl: '', cancelUrl: '' }, true);
  assert.ok('body' in rotate);
  assert.deepEqual((rotate.body as { stripe?: unknown }).stripe, { webhookSecret: hook });
  const keep = parseBindingForm('stripe', { ...common, secretKey: '', webhookSecret: '', successUrl: '', cancelUrl: '' }, true);
  assert.ok('body' in keep && !('stripe' in keep.body));
  const manualPatch = parseBindingForm('manual', { ...common, instructions: 'x {reference}' }, true);
  assert.ok('body' in manualPatch && !('provider' in manualPatch.body), 'a change names no provider');
  // Local refusals.
  assert.match((parseBindingForm('stripe', { ...common, secretKey: key, webhookSecret: '' }, false) as { error: string }).error, /both the secret key/);
  assert.match((parseBindingForm('sandbox', { ...common, linkExpires: 'soon' }, false) as { error: string }).error, /^Link valid for: /);
  assert.match((parseBindingForm('sandbox', { ...common, templateVars: '1={order}' }, false) as { error: string }).error, /set the paid template/);
  assert.match((parseBindingForm('sandbox', { ...common, paidTemplate: SID, templateVars: 'oops' }, false) as { error: string }).error, /^Template vars: /);
  assert.deepEqual(parseDuration('900'), { seconds: 900 });
  assert.deepEqual(parseDuration('2 H'), { seconds: 7200 });
  assert.equal(formatDuration(90), '90s');
  assert.deepEqual(parseTemplateVariables(''), { variables: {} });
});

test('the Stripe webhook text: the URL in lines of the given width, every event, the key hint only', () => {
  const text = stripeWebhookText(stripeBinding, 40);
  const url = stripeBinding.stripe!.webhookUrl;
  const lines = text.split('\n');
  const at = lines.indexOf(url.slice(0, 40));
  assert.ok(at > 0, text);
  assert.equal(lines.slice(at, at + Math.ceil(url.length / 40)).join(''), url);
  for (const e of STRIPE_WEBHOOK_EVENTS) assert.ok(lines.includes(`  ${e}`), e);
  assert.match(text, /sk_test_…4242 \(test mode\)/);
  assert.ok(stripeWebhookText(stripeBinding, 200).split('\n').includes(url), 'whole on a wide screen');
  assert.match(stripeWebhookText(binding({}), 60), /needs no webhook/);
});

test('dialogs: a custom modal registered with holdModal, or grabbed keys, count as open; closeAll cancels the custom modal', () => {
  const screen = { grabKeys: false } as unknown as Widgets.Screen;
  const dialogs = createDialogs(screen);
  const other = createDialogs({ grabKeys: false } as unknown as Widgets.Screen);
  assert.equal(dialogs.open, false);
  let cancelled = 0;
  const release = holdModal(screen, () => {
    cancelled++;
    release(); // what a modal's close does
  });
  assert.equal(dialogs.open, true, 'the custom modal is open');
  assert.equal(other.open, false, 'only on its own screen');
  dialogs.closeAll();
  assert.equal(cancelled, 1);
  assert.equal(dialogs.open, false);
  release(); // twice is harmless
  assert.equal(dialogs.open, false);
  (screen as { grabKeys: boolean }).grabKeys = true;
  assert.equal(dialogs.open, true, 'anything holding the keys counts as a modal');
});

test('binding client calls against a real server: bind, change (same id and webhook URL), Stripe answers only a hint; admins and bad bodies refused', async () => {
  await using t = await startApp();
  const { orgId, ownerToken } = t.tenant('Acme');
  const signal = new AbortController().signal;
  const c = createCommerceClient(createApiClient({ url: t.url, token: ownerToken }), orgId);
  const rejects = (p: Promise<unknown>, status: number) => assert.rejects(p, (err: unknown) => err instanceof ApiError && err.status === status);

  const sandbox = await c.bindPaymentProvider(parseBody('sandbox', { approval: 'not required' }, false), signal);
  assert.equal(sandbox.provider, 'sandbox');
  assert.equal(sandbox.settings.refundsRequireApproval, false);
  const changed = await c.updatePaymentBinding(parseBody('sandbox', { paidText: 'Got it: {amount}' }, true), signal);
  assert.equal(changed.id, sandbox.id, 'a change keeps the binding');
  assert.equal(changed.settings.paidText, 'Got it: {amount}');

  const key = 'sk_test_ClientCanary12345678';
  const hook = 'whsec_ClientCanaryHook12345678';
  const stripe = await c.bindPaymentProvider(parseBody('stripe', { secretKey: key, webhookSecret: hook }, false), signal);
  assert.notEqual(stripe.id, sandbox.id);
  assert.equal(stripe.stripe?.secretKeyHint, 'sk_test_…5678');
  assert.ok(stripe.stripe?.webhookUrl.endsWith(`/webhooks/payments/stripe/${stripe.id}`));
  assert.ok(!JSON.stringify(stripe).includes('ClientCanary'), 'no secret in the answer');
  const rotated = await c.updatePaymentBinding(parseBody('stripe', { webhookSecret: `${hook}X` }, true), signal);
  assert.equal(rotated.id, stripe.id);
  assert.equal(rotated.stripe?.webhookUrl, stripe.stripe?.webhookUrl, 'a rotated secret keeps the webhook URL');
  assert.equal(rotated.stripe?.secretKeyHint, 'sk_test_…5678', 'an empty key field keeps the stored key');

  await rejects(c.bindPaymentProvider(parseBody('manual', { instructions: 'no reference' }, false), signal), 400);
  await rejects(c.bindPaymentProvider(parseBody('stripe', { secretKey: 'sk_test_x', webhookSecret: hook }, false), signal), 400);
  assert.equal((await c.paymentBinding(signal))?.id, stripe.id, 'refusals change nothing');
  const admin = t.member(orgId, 'admin');
  await rejects(createCommerceClient(createApiClient({ url: t.url, token: admin.token }), orgId).bindPaymentProvider({ provider: 'sandbox' }, signal), 403);
});

/** The body the form would send for `values` (the rest as the form's defaults). */
function parseBody(provider: 'sandbox' | 'manual' | 'stripe', values: Record<string, string>, update: boolean): BindPaymentProviderRequest {
  const parsed = parseBindingForm(provider, { paidText: '', paidTemplate: '', templateVars: '', approval: 'required', linkExpires: '12h', ...values }, update);
  assert.ok('body' in parsed, JSON.stringify(parsed));
  return parsed.body as BindPaymentProviderRequest;
}
