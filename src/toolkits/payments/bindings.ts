/**
 * Payment-provider bindings: which provider (sandbox, manual, Stripe) an organisation takes money
 * with, its settings, and for Stripe its secret key and webhook signing secret, sealed with AAD
 * `payment_bindings|<column>|<org>|<id>`. One active binding per organisation; binding again
 * retires the old one, which keeps reconciling its own payments (its id is the provider scope and
 * part of its webhook URL). `providerFor` builds (and caches per binding version) the provider of
 * the seam in ./providers. Must never return or log a secret (only a hint such as `sk_test_…4242`),
 * and never know about HTTP.
 */
import type { Db } from '../../storage/db.ts';
import type { SecretBox } from '../../storage/secret-box.ts';
import { conflict, invalidRequest, notFound } from '../../errors.ts';
import { newId } from '../ecommerce/products.ts';
import { createPaymentProvider, STRIPE_DEFAULTS, type PaymentProvider, type ProviderKind } from './providers/index.ts';
import { createSqlitePaymentStore } from './local-store-sqlite.ts';

export interface PaymentTemplate {
  contentSid: string;
  variables?: Record<string, string>;
}

export interface BindingSettings {
  successUrl: string | null;
  cancelUrl: string | null;
  instructionsTemplate: string | null;
  paidTemplate: PaymentTemplate | null;
  paidText: string | null;
  refundsRequireApproval: boolean;
  linkExpiresInSeconds: number;
}

export const DEFAULT_SETTINGS: BindingSettings = {
  successUrl: null, cancelUrl: null, instructionsTemplate: null, paidTemplate: null, paidText: null, refundsRequireApproval: true,
  linkExpiresInSeconds: 12 * 60 * 60,
};

export interface Binding {
  id: string;
  orgId: string;
  provider: ProviderKind;
  status: 'active' | 'retired';
  settings: BindingSettings;
  /** Stripe: `sk_test_…4242`; null otherwise. */
  secretKeyHint: string | null;
  livemode: boolean;
  createdBy: string | null;
  createdAt: number;
  updatedAt: number;
  retiredAt: number | null;
}

export interface StripeSecrets {
  secretKey: string;
  webhookSecret: string;
}

interface Row {
  id: string;
  org_id: string;
  provider: ProviderKind;
  status: 'active' | 'retired';
  settings: string;
  secret_key_sealed: string | null;
  webhook_secret_sealed: string | null;
  secret_key_hint: string | null;
  created_by: string | null;
  created_at: number;
  updated_at: number;
  retired_at: number | null;
}

const aad = (column: string, orgId: string, id: string): string => `payment_bindings|${column}|${orgId}|${id}`;
const hintOf = (key: string): string => `${key.slice(0, key.indexOf('_', 3) + 1)}…${key.slice(-4)}`;

const toBinding = (r: Row): Binding => ({
  id: r.id, orgId: r.org_id, provider: r.provider, status: r.status, settings: { ...DEFAULT_SETTINGS, ...(JSON.parse(r.settings) as Partial<BindingSettings>) },
  secretKeyHint: r.secret_key_hint, livemode: /_live_/.test(r.secret_key_hint ?? ''), createdBy: r.created_by,
  createdAt: r.created_at, updatedAt: r.updated_at, retiredAt: r.retired_at,
});

export interface BindingsDeps {
  db: Db;
  box: SecretBox;
  /** Base of the sandbox provider's pay links (`<public base>/payments/sandbox`). */
  sandboxPayBaseUrl: string;
  /** Stripe's API origin (PLUGBOARD_STRIPE_API_BASE_URL; a loopback fake in tests). */
  stripeApiBaseUrl: string;
  now: () => number;
}

export function createBindings(deps: BindingsDeps) {
  const { db, box } = deps;
  const stmts = {
    insert: db.prepare(`
      INSERT INTO payment_bindings (id, org_id, provider, status, settings, secret_key_sealed, webhook_secret_sealed, secret_key_hint, created_by, created_at, updated_at)
      VALUES (@id, @orgId, @provider, 'active', @settings, @secretKeySealed, @webhookSecretSealed, @hint, @createdBy, @now, @now)`),
    retire: db.prepare("UPDATE payment_bindings SET status = 'retired', retired_at = @now, updated_at = @now WHERE org_id = @orgId AND status = 'active'"),
    active: db.prepare("SELECT * FROM payment_bindings WHERE org_id = ? AND status = 'active'"),
    get: db.prepare('SELECT * FROM payment_bindings WHERE org_id = ? AND id = ?'),
    byId: db.prepare('SELECT * FROM payment_bindings WHERE id = ?'),
    update: db.prepare(`
      UPDATE payment_bindings SET settings = @settings, secret_key_sealed = @secretKeySealed, webhook_secret_sealed = @webhookSecretSealed,
        secret_key_hint = @hint, updated_at = @now
      WHERE org_id = @orgId AND id = @id`),
    sealed: db.prepare('SELECT secret_key_sealed, webhook_secret_sealed FROM payment_bindings WHERE org_id = ? AND id = ?'),
  };
  const one = (r: unknown): Binding | null => (r ? toBinding(r as Row) : null);
  const cache = new Map<string, { version: number; provider: PaymentProvider }>();

  const bind = db.transaction((orgId: string, provider: ProviderKind, settings: BindingSettings, secrets: StripeSecrets | null, createdBy: string | null): Binding => {
    const at = deps.now();
    stmts.retire.run({ orgId, now: at });
    const id = newId('pbd');
    stmts.insert.run({
      id, orgId, provider, settings: JSON.stringify(settings), createdBy, now: at,
      secretKeySealed: secrets ? box.seal(secrets.secretKey, aad('secret_key_sealed', orgId, id)) : null,
      webhookSecretSealed: secrets ? box.seal(secrets.webhookSecret, aad('webhook_secret_sealed', orgId, id)) : null,
      hint: secrets ? hintOf(secrets.secretKey) : null,
    });
    return one(stmts.get.get(orgId, id)) as Binding;
  });

  function openSecrets(b: Binding): StripeSecrets {
    const r = stmts.sealed.get(b.orgId, b.id) as { secret_key_sealed: string | null; webhook_secret_sealed: string | null } | undefined;
    if (!r?.secret_key_sealed || !r.webhook_secret_sealed) throw new Error('The Stripe binding has no stored secrets.');
    return { secretKey: box.open(r.secret_key_sealed, aad('secret_key_sealed', b.orgId, b.id)), webhookSecret: box.open(r.webhook_secret_sealed, aad('webhook_secret_sealed', b.orgId, b.id)) };
  }

  return {
    active: (orgId: string): Binding | null => one(stmts.active.get(orgId)),
    get: (orgId: string, id: string): Binding | null => one(stmts.get.get(orgId, id)),
    /** Unscoped, by its unguessable id: the webhook route (the signature check that follows authenticates the caller). */
    findForWebhook: (id: string): Binding | null => one(stmts.byId.get(id)),
    /** Binds a provider (retiring the active binding) in one transaction. */
    bind(orgId: string, provider: ProviderKind, settings: BindingSettings, secrets: StripeSecrets | null, createdBy: string | null): Binding {
      try {
        return bind.immediate(orgId, provider, settings, secrets, createdBy);
      } catch (err) {
        if ((err as { code?: unknown })?.code === 'SQLITE_CONSTRAINT_UNIQUE') throw conflict('Another binding was made at the same time; read it and try again.', 'binding_conflict');
        throw err;
      }
    },
    /** New settings and, for Stripe, any rotated secret. */
    update(b: Binding, settings: BindingSettings, secrets: Partial<StripeSecrets>): Binding {
      const cur = stmts.sealed.get(b.orgId, b.id) as { secret_key_sealed: string | null; webhook_secret_sealed: string | null };
      stmts.update.run({
        orgId: b.orgId, id: b.id, settings: JSON.stringify(settings), now: deps.now(),
        secretKeySealed: secrets.secretKey ? box.seal(secrets.secretKey, aad('secret_key_sealed', b.orgId, b.id)) : cur.secret_key_sealed,
        webhookSecretSealed: secrets.webhookSecret ? box.seal(secrets.webhookSecret, aad('webhook_secret_sealed', b.orgId, b.id)) : cur.webhook_secret_sealed,
        hint: secrets.secretKey ? hintOf(secrets.secretKey) : b.secretKeyHint,
      });
      cache.delete(b.id);
      return one(stmts.get.get(b.orgId, b.id)) as Binding;
    },
    /** The provider of a binding (active or retired), built once per version of its row. */
    providerFor(b: Binding): PaymentProvider {
      const hit = cache.get(b.id);
      if (hit && hit.version === b.updatedAt) return hit.provider;
      const now = () => new Date(deps.now());
      const localStore = createSqlitePaymentStore(db, b.id);
      let provider: PaymentProvider;
      if (b.provider === 'sandbox') provider = createPaymentProvider({ kind: 'sandbox', scope: b.id, payBaseUrl: deps.sandboxPayBaseUrl }, { localStore, now });
      else if (b.provider === 'manual') {
        provider = createPaymentProvider({ kind: 'manual', scope: b.id, instructionsTemplate: b.settings.instructionsTemplate ?? '' }, { localStore, now });
      } else {
        provider = createPaymentProvider({
          kind: 'stripe', ...STRIPE_DEFAULTS, ...openSecrets(b), scope: b.id, successUrl: b.settings.successUrl, cancelUrl: b.settings.cancelUrl,
          apiBaseUrl: deps.stripeApiBaseUrl,
        }, { localStore, now });
      }
      if (cache.size > 1000) cache.clear();
      cache.set(b.id, { version: b.updatedAt, provider });
      return provider;
    },
  };
}
export type Bindings = ReturnType<typeof createBindings>;

/** The organisation's active binding, or a clear error for the agent or the operator. */
export function activeBinding(bindings: Bindings, orgId: string): Binding {
  const b = bindings.active(orgId);
  if (!b) throw invalidRequest('No payment provider is set up for this organization: the owner binds one with PUT /organizations/{id}/payment-binding.', null, 'payments_not_configured');
  return b;
}

export function bindingOrNotFound(bindings: Bindings, orgId: string): Binding {
  const b = bindings.active(orgId);
  if (!b) throw notFound('payment_binding');
  return b;
}
