/**
 * The provider-agnostic payment seam: the sandbox and manual providers' lifecycles (over the
 * in-memory store the toolkit will replace with SQLite), the shared input rules, deterministic
 * idempotency keys, and the boundary rules (only stripe.ts imports `stripe`; the providers import
 * nothing of the rest of the app). The Stripe provider against the fake is in
 * payments-providers-stripe.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  createMemoryPaymentStore, createPaymentProvider, deriveIdempotencyKey, formatMinor, isManual, isSandbox,
  PaymentErrorCode, PaymentProviderError, type CreatePaymentInput, type PaymentErrorCodeValue,
} from '../../src/toolkits/payments/providers/index.ts';
import { createManualProvider } from '../../src/toolkits/payments/providers/manual.ts';
import { createSandboxProvider } from '../../src/toolkits/payments/providers/sandbox.ts';

const T0 = new Date('2026-03-01T10:00:00Z');

function clock(start = T0) {
  let t = start.getTime();
  return { now: () => new Date(t), advance: (sec: number) => void (t += sec * 1000) };
}

function input(overrides: Partial<CreatePaymentInput> = {}): CreatePaymentInput {
  return { reference: 'ord_1', amountMinor: 2500, currency: 'eur', description: 'Two coffees', expiresAt: new Date(T0.getTime() + 3600_000), ...overrides };
}

async function rejectsWith(p: Promise<unknown>, code: PaymentErrorCodeValue): Promise<PaymentProviderError> {
  let caught: unknown;
  await assert.rejects(p, (e: unknown) => ((caught = e), e instanceof PaymentProviderError && e.code === code));
  return caught as PaymentProviderError;
}

function sandbox(c = clock(), store = createMemoryPaymentStore()) {
  return createSandboxProvider({ store, scope: 'binding_1', payBaseUrl: 'https://sandbox.plugboard.invalid/pay/', now: c.now });
}

test('sandbox: create → pending with a pay link → operator marks paid → succeeded; refunds up to the captured amount', async () => {
  const p = sandbox();
  const created = await p.createPayment(input());
  assert.equal(created.status, 'pending');
  assert.match(created.providerRef, /^sbx_pay_[0-9a-f]{24}$/);
  assert.equal(created.payUrl, `https://sandbox.plugboard.invalid/pay/${created.providerRef}`);
  assert.equal(created.instructions, null);
  assert.deepEqual(await p.getPayment(created.providerRef), {
    providerRef: created.providerRef, reference: 'ord_1', status: 'pending', amountMinor: 2500, currency: 'EUR',
    capturedMinor: 0, refundedMinor: 0, expiresAt: input().expiresAt, failureReason: null,
  });
  await rejectsWith(p.refundPayment({ providerRef: created.providerRef, refundReference: 'rf_1', amountMinor: 100, reason: 'requested_by_customer' }), PaymentErrorCode.notRefundable);

  const paid = await p.markPaid(created.providerRef);
  assert.equal(paid.status, 'succeeded');
  assert.equal(paid.capturedMinor, 2500);
  assert.equal((await p.markPaid(created.providerRef)).status, 'succeeded', 'a double click is a no-op');
  await rejectsWith(p.markFailed(created.providerRef), PaymentErrorCode.invalidState);
  await rejectsWith(p.cancelPayment(created.providerRef), PaymentErrorCode.invalidState);

  const r1 = await p.refundPayment({ providerRef: created.providerRef, refundReference: 'rf_1', amountMinor: 1000, reason: 'requested_by_customer' });
  assert.equal(r1.status, 'succeeded');
  assert.deepEqual(await p.refundPayment({ providerRef: created.providerRef, refundReference: 'rf_1', amountMinor: 1000, reason: 'requested_by_customer' }), r1, 'same refund reference → same refund');
  await rejectsWith(p.refundPayment({ providerRef: created.providerRef, refundReference: 'rf_1', amountMinor: 999, reason: 'requested_by_customer' }), PaymentErrorCode.idempotencyConflict);
  const tooMuch = await rejectsWith(p.refundPayment({ providerRef: created.providerRef, refundReference: 'rf_2', amountMinor: 1501, reason: 'duplicate' }), PaymentErrorCode.refundExceedsCaptured);
  assert.match(tooMuch.message, /1500 of 2500 EUR/);
  assert.equal(tooMuch.retryable, false);
  await p.refundPayment({ providerRef: created.providerRef, refundReference: 'rf_2', amountMinor: 1500, reason: 'duplicate' });
  const after = await p.getPayment(created.providerRef);
  assert.equal(after.refundedMinor, 2500);
  assert.equal((await p.getRefund(r1.refundRef)).amountMinor, 1000);
  await rejectsWith(p.parseWebhook({ rawBody: '{}', headers: {} }), PaymentErrorCode.unsupported);
});

test('sandbox: deterministic outcomes — …01 declined, …02 refunds fail, …03 create refused; expiry; cancel', async () => {
  const c = clock();
  const p = sandbox(c);
  const declined = await p.createPayment(input({ reference: 'ord_01', amountMinor: 1001 }));
  const r = await p.markPaid(declined.providerRef);
  assert.equal(r.status, 'failed');
  assert.equal(r.failureReason, 'card_declined');

  const refundFails = await p.createPayment(input({ reference: 'ord_02', amountMinor: 1002 }));
  await p.markPaid(refundFails.providerRef);
  const failedRefund = await p.refundPayment({ providerRef: refundFails.providerRef, refundReference: 'rf', amountMinor: 1002, reason: 'requested_by_customer' });
  assert.equal(failedRefund.status, 'failed');
  assert.equal((await p.getPayment(refundFails.providerRef)).refundedMinor, 0, 'a failed refund gives the amount back');

  await rejectsWith(p.createPayment(input({ reference: 'ord_03', amountMinor: 1003 })), PaymentErrorCode.rejected);

  const failed = await p.createPayment(input({ reference: 'ord_f' }));
  assert.equal((await p.markFailed(failed.providerRef, 'insufficient_funds')).failureReason, 'insufficient_funds');

  const expiring = await p.createPayment(input({ reference: 'ord_exp', expiresAt: new Date(T0.getTime() + 120_000) }));
  const canceled = await p.createPayment(input({ reference: 'ord_cancel' }));
  assert.equal((await p.cancelPayment(canceled.providerRef)).status, 'canceled');
  assert.equal((await p.cancelPayment(canceled.providerRef)).status, 'canceled', 'cancel is idempotent');
  c.advance(120);
  assert.equal((await p.getPayment(expiring.providerRef)).status, 'expired');
  await rejectsWith(p.markPaid(expiring.providerRef), PaymentErrorCode.invalidState);
  await rejectsWith(p.markPaid(canceled.providerRef), PaymentErrorCode.invalidState);
});

test('sandbox: the same reference returns the same payment; other parameters are a conflict; state lives in the injected store', async () => {
  const store = createMemoryPaymentStore();
  const a = await sandbox(clock(), store).createPayment(input());
  // A new provider over the same store (the toolkit after a restart) finds the payment again.
  const b = await sandbox(clock(), store).createPayment(input());
  assert.equal(b.providerRef, a.providerRef);
  await rejectsWith(sandbox(clock(), store).createPayment(input({ amountMinor: 2600 })), PaymentErrorCode.idempotencyConflict);
  const other = createSandboxProvider({ store, scope: 'binding_2', payBaseUrl: 'https://sandbox.plugboard.invalid/pay', now: clock().now });
  assert.notEqual((await other.createPayment(input())).providerRef, a.providerRef, 'refs are scoped per binding');
  await rejectsWith(sandbox(clock(), store).getPayment('sbx_pay_unknown'), PaymentErrorCode.notFound);
});

test('manual: instructions instead of a link; only the operator moves it; refunds wait for the operator', async () => {
  const c = clock();
  const p = createManualProvider({
    store: createMemoryPaymentStore(), scope: 'binding_m', now: c.now,
    instructionsTemplate: 'Pay {amount} to IBAN NL00 TEST 0000 0000 00, reference {reference} ({description}).',
  });
  assert.equal(p.capabilities.payment, 'instructions');
  const created = await p.createPayment(input({ reference: 'ord_$&7', amountMinor: 1250 }));
  assert.equal(created.payUrl, null);
  assert.equal(created.instructions, 'Pay 12.50 EUR to IBAN NL00 TEST 0000 0000 00, reference ord_$&7 (Two coffees).');
  c.advance(600);
  assert.equal((await p.getPayment(created.providerRef)).status, 'pending', 'time alone settles nothing before expiry');
  await rejectsWith(p.confirmReceived(created.providerRef, { receivedMinor: 1000 }), PaymentErrorCode.invalidInput);
  const confirmed = await p.confirmReceived(created.providerRef, { receivedMinor: 1250, note: 'Seen on the bank statement' });
  assert.equal(confirmed.status, 'succeeded');
  const refund = await p.refundPayment({ providerRef: created.providerRef, refundReference: 'rf_1', amountMinor: 250, reason: 'requested_by_customer' });
  assert.equal(refund.status, 'pending');
  assert.equal((await p.getPayment(created.providerRef)).refundedMinor, 250, 'a pending refund is no longer refundable');
  await rejectsWith(p.refundPayment({ providerRef: created.providerRef, refundReference: 'rf_2', amountMinor: 1001, reason: 'requested_by_customer' }), PaymentErrorCode.refundExceedsCaptured);
  assert.equal((await p.settleRefund(refund.refundRef, 'succeeded')).status, 'succeeded');
  await rejectsWith(p.settleRefund(refund.refundRef, 'failed'), PaymentErrorCode.invalidState);
  await rejectsWith(p.parseWebhook({ rawBody: '{}', headers: {} }), PaymentErrorCode.unsupported);
  assert.throws(() => createManualProvider({ store: createMemoryPaymentStore(), scope: 's', now: c.now, instructionsTemplate: 'Pay us.' }), /\{reference\}/);
});

test('input rules are the same for every provider and change nothing', async () => {
  const providers = [
    createPaymentProvider({ kind: 'sandbox', scope: 's', payBaseUrl: 'https://sandbox.plugboard.invalid/pay' }, { localStore: createMemoryPaymentStore(), now: () => T0 }),
    createPaymentProvider({ kind: 'manual', scope: 's', instructionsTemplate: 'Ref {reference}' }, { localStore: createMemoryPaymentStore(), now: () => T0 }),
  ];
  assert.ok(isSandbox(providers[0]) && isManual(providers[1]));
  const bad: Array<Partial<CreatePaymentInput>> = [
    { reference: '' }, { reference: 'has space' }, { reference: 'x'.repeat(201) },
    { amountMinor: 0 }, { amountMinor: 12.5 }, { amountMinor: 100_000_000 }, { amountMinor: Number.NaN },
    { currency: 'EURO' }, { currency: 'e1r' },
    { description: '' }, { description: 'a\nb' }, { description: 'x'.repeat(251) },
    { expiresAt: new Date(T0.getTime() - 1) }, { expiresAt: new Date('nope') }, { expiresAt: new Date(T0.getTime() + 31 * 86400_000) },
  ];
  for (const p of providers) {
    for (const b of bad) await rejectsWith(p.createPayment(input(b)), PaymentErrorCode.invalidInput);
  }
  assert.equal(formatMinor(1250, 'EUR'), '12.50 EUR');
  assert.equal(formatMinor(1250, 'JPY'), '1250 JPY');
  assert.equal(formatMinor(1250, 'KWD'), '1.250 KWD');
});

test('idempotency keys derive deterministically from scope, operation and reference', () => {
  const k = deriveIdempotencyKey('binding_1', 'create', 'ord_1');
  assert.match(k, /^pb1_create_[0-9a-f]{64}$/);
  assert.equal(deriveIdempotencyKey('binding_1', 'create', 'ord_1'), k);
  assert.notEqual(deriveIdempotencyKey('binding_2', 'create', 'ord_1'), k);
  assert.notEqual(deriveIdempotencyKey('binding_1', 'refund', 'ord_1'), deriveIdempotencyKey('binding_1', 'create', 'ord_1'));
  assert.notEqual(deriveIdempotencyKey('binding_1', 'refund', 'cs_a', 'rf_1'), deriveIdempotencyKey('binding_1', 'refund', 'cs_a', 'rf_2'));
  assert.ok(!k.includes('ord_1'), 'the reference itself is not in the key');
});

const ROOT = path.resolve(import.meta.dirname, '../..');
function tsFiles(dir: string): string[] {
  return fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? tsFiles(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : []);
}
function importsOf(file: string): string[] {
  const text = fs.readFileSync(path.join(ROOT, file), 'utf8');
  return [...text.matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s+['"]([^'"]+)['"]/g), ...text.matchAll(/import\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1]);
}

test('boundaries: only providers/stripe.ts imports `stripe`; the providers import nothing of the app outside their folder', () => {
  const owners = tsFiles('src').filter((f) => importsOf(f).some((s) => s === 'stripe' || s.startsWith('stripe/')));
  assert.deepEqual(owners, [path.join('src', 'toolkits', 'payments', 'providers', 'stripe.ts')]);
  const dir = path.join('src', 'toolkits', 'payments', 'providers');
  for (const f of tsFiles(dir)) {
    for (const spec of importsOf(f)) {
      if (spec.startsWith('node:') || spec === 'stripe') continue;
      assert.ok(spec.startsWith('./') && !spec.includes('..'), `${f} imports ${spec}`);
    }
    assert.ok(!/process\.env\b/.test(fs.readFileSync(path.join(ROOT, f), 'utf8')), `${f} reads process.env`);
  }
});
