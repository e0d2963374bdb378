-- E-Commerce and Payments toolkits (issue 12): the catalogue, orders and their items, after-sale
-- requests; payment-provider bindings, payments, refunds, and the state of the in-process
-- providers (sandbox, manual). Every row carries org_id; times are Unix ms; money is an integer in
-- the currency's minor unit.
--
-- Forward-only states are enforced here as well as in code (triggers), so no writer can move an
-- order from paid back to pending_payment or a settled payment back to pending, even by raw SQL.
-- Orders and payments outlive the WhatsApp instance and the product they came from: they keep the
-- instance id and a copy of each item (sku, name, unit price) instead of a foreign key.

-- Catalogue -----------------------------------------------------------------------------------------

CREATE TABLE commerce_products (
  id          TEXT PRIMARY KEY,
  org_id      TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  sku         TEXT NOT NULL CHECK (length(sku) BETWEEN 1 AND 64),
  name        TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  description TEXT NOT NULL DEFAULT '',
  price_minor INTEGER NOT NULL CHECK (price_minor BETWEEN 1 AND 99999999),
  -- ISO 4217, upper case.
  currency    TEXT NOT NULL CHECK (length(currency) = 3 AND currency = upper(currency)),
  active      INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
  -- NULL: not tracked (always available). Decremented when an order is created, in its transaction.
  stock       INTEGER CHECK (stock IS NULL OR stock >= 0),
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL,
  UNIQUE (org_id, sku),
  UNIQUE (id, org_id)
);
CREATE INDEX commerce_products_org ON commerce_products(org_id, active, name);

-- Orders ----------------------------------------------------------------------------------------------

CREATE TABLE commerce_orders (
  id              TEXT PRIMARY KEY,
  org_id          TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  -- Per organisation, from 1: what the customer and the operator quote ("order #12").
  number          INTEGER NOT NULL CHECK (number >= 1),
  instance_id     TEXT,
  customer_ref    TEXT NOT NULL,
  status          TEXT NOT NULL DEFAULT 'pending_payment' CHECK (status IN ('pending_payment', 'paid', 'fulfilled', 'cancelled')),
  currency        TEXT NOT NULL CHECK (length(currency) = 3),
  -- Computed by the appliance from catalogue prices; the model never sets it.
  total_minor     INTEGER NOT NULL CHECK (total_minor BETWEEN 1 AND 99999999),
  item_count      INTEGER NOT NULL CHECK (item_count >= 1),
  -- The agent's key (request + arguments): a re-run tool loop finds its first order.
  idempotency_key TEXT,
  cancel_reason   TEXT,
  created_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL,
  paid_at         INTEGER,
  fulfilled_at    INTEGER,
  cancelled_at    INTEGER,
  UNIQUE (org_id, number),
  UNIQUE (org_id, idempotency_key),
  UNIQUE (id, org_id)
);
CREATE INDEX commerce_orders_customer ON commerce_orders(org_id, customer_ref, created_at);
CREATE INDEX commerce_orders_status ON commerce_orders(org_id, status, created_at);

-- pending_payment → paid → fulfilled; pending_payment or paid → cancelled. Nothing else, ever.
CREATE TRIGGER commerce_orders_forward_only BEFORE UPDATE OF status ON commerce_orders
WHEN NOT (NEW.status = OLD.status
  OR (OLD.status = 'pending_payment' AND NEW.status IN ('paid', 'cancelled'))
  OR (OLD.status = 'paid' AND NEW.status IN ('fulfilled', 'cancelled')))
BEGIN
  SELECT RAISE(ABORT, 'order status moves forward only');
END;
CREATE TRIGGER commerce_orders_fixed_money BEFORE UPDATE OF total_minor, currency, org_id, customer_ref ON commerce_orders
WHEN NEW.total_minor <> OLD.total_minor OR NEW.currency <> OLD.currency OR NEW.org_id <> OLD.org_id OR NEW.customer_ref <> OLD.customer_ref
BEGIN
  SELECT RAISE(ABORT, 'an order''s total, currency, organisation and customer never change');
END;

CREATE TABLE commerce_order_items (
  order_id         TEXT NOT NULL REFERENCES commerce_orders(id) ON DELETE CASCADE,
  line             INTEGER NOT NULL CHECK (line >= 1),
  -- The product at order time; no foreign key (a product may be deleted later).
  product_id       TEXT,
  sku              TEXT NOT NULL,
  name             TEXT NOT NULL,
  unit_price_minor INTEGER NOT NULL CHECK (unit_price_minor >= 1),
  quantity         INTEGER NOT NULL CHECK (quantity BETWEEN 1 AND 1000),
  line_total_minor INTEGER NOT NULL CHECK (line_total_minor = unit_price_minor * quantity),
  PRIMARY KEY (order_id, line)
);

CREATE TABLE commerce_after_sales (
  id              TEXT PRIMARY KEY,
  org_id          TEXT NOT NULL,
  order_id        TEXT NOT NULL,
  instance_id     TEXT,
  customer_ref    TEXT NOT NULL,
  type            TEXT NOT NULL CHECK (type IN ('return', 'refund', 'complaint')),
  description     TEXT NOT NULL CHECK (length(description) BETWEEN 1 AND 2000),
  status          TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'resolved')),
  resolution      TEXT,
  resolved_by     TEXT,
  idempotency_key TEXT,
  created_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL,
  resolved_at     INTEGER,
  UNIQUE (org_id, idempotency_key),
  FOREIGN KEY (order_id, org_id) REFERENCES commerce_orders(id, org_id) ON DELETE CASCADE
);
CREATE INDEX commerce_after_sales_org ON commerce_after_sales(org_id, status, created_at);

CREATE TRIGGER commerce_after_sales_forward_only BEFORE UPDATE OF status ON commerce_after_sales
WHEN OLD.status = 'resolved' AND NEW.status <> 'resolved'
BEGIN
  SELECT RAISE(ABORT, 'a resolved after-sale request stays resolved');
END;

-- Payment provider bindings ------------------------------------------------------------------------

-- One active binding per organisation; a re-bind retires the old one, which keeps reconciling its
-- own payments (its id is the provider scope and part of its Stripe webhook URL).
CREATE TABLE payment_bindings (
  id                    TEXT PRIMARY KEY,
  org_id                TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  provider              TEXT NOT NULL CHECK (provider IN ('sandbox', 'manual', 'stripe')),
  status                TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'retired')),
  -- JSON: success/cancel URLs, the manual instructions, the paid-notification template, refund approval.
  settings              TEXT NOT NULL DEFAULT '{}',
  -- Stripe only, sealed with AAD 'payment_bindings|<column>|<org_id>|<id>'.
  secret_key_sealed     TEXT,
  webhook_secret_sealed TEXT,
  secret_key_hint       TEXT,
  created_by            TEXT,
  created_at            INTEGER NOT NULL,
  updated_at            INTEGER NOT NULL,
  retired_at            INTEGER,
  UNIQUE (id, org_id),
  CHECK (provider <> 'stripe' OR (secret_key_sealed IS NOT NULL AND webhook_secret_sealed IS NOT NULL))
);
CREATE UNIQUE INDEX payment_bindings_one_active ON payment_bindings(org_id) WHERE status = 'active';

-- Payments -------------------------------------------------------------------------------------------

CREATE TABLE payments (
  id              TEXT PRIMARY KEY,
  org_id          TEXT NOT NULL,
  binding_id      TEXT NOT NULL,
  order_id        TEXT NOT NULL,
  instance_id     TEXT,
  customer_ref    TEXT,
  -- The business reference sent to the provider: unique per binding, forever.
  reference       TEXT NOT NULL,
  -- The whole create input, persisted before the first provider call and resent unchanged.
  amount_minor    INTEGER NOT NULL CHECK (amount_minor BETWEEN 1 AND 99999999),
  currency        TEXT NOT NULL CHECK (length(currency) = 3),
  description     TEXT NOT NULL,
  expires_at      INTEGER NOT NULL,
  -- created (input stored, provider not yet confirmed) → pending → succeeded | failed | canceled | expired.
  status          TEXT NOT NULL DEFAULT 'created' CHECK (status IN ('created', 'pending', 'succeeded', 'failed', 'canceled', 'expired')),
  provider_ref    TEXT,
  pay_url         TEXT,
  instructions    TEXT,
  -- From the last provider lookup.
  captured_minor  INTEGER NOT NULL DEFAULT 0 CHECK (captured_minor >= 0),
  refunded_minor  INTEGER NOT NULL DEFAULT 0 CHECK (refunded_minor >= 0),
  failure_reason  TEXT,
  last_error      TEXT,
  last_event_id   TEXT,
  created_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL,
  settled_at      INTEGER,
  UNIQUE (binding_id, reference),
  UNIQUE (binding_id, provider_ref),
  FOREIGN KEY (binding_id, org_id) REFERENCES payment_bindings(id, org_id) ON DELETE CASCADE,
  FOREIGN KEY (order_id, org_id) REFERENCES commerce_orders(id, org_id) ON DELETE CASCADE
);
-- At most one open payment per order: asking again returns it.
CREATE UNIQUE INDEX payments_one_open_per_order ON payments(order_id) WHERE status IN ('created', 'pending');
CREATE INDEX payments_org ON payments(org_id, created_at);
CREATE INDEX payments_order ON payments(order_id, created_at);

CREATE TRIGGER payments_forward_only BEFORE UPDATE OF status ON payments
WHEN NOT (NEW.status = OLD.status
  OR (OLD.status = 'created' AND NEW.status <> 'created')
  OR (OLD.status = 'pending' AND NEW.status IN ('succeeded', 'failed', 'canceled', 'expired')))
BEGIN
  SELECT RAISE(ABORT, 'payment status moves forward only');
END;
CREATE TRIGGER payments_fixed_input BEFORE UPDATE OF amount_minor, currency, description, expires_at, reference, binding_id, order_id ON payments
WHEN NEW.amount_minor <> OLD.amount_minor OR NEW.currency <> OLD.currency OR NEW.description <> OLD.description
  OR NEW.expires_at <> OLD.expires_at OR NEW.reference <> OLD.reference OR NEW.binding_id <> OLD.binding_id OR NEW.order_id <> OLD.order_id
BEGIN
  SELECT RAISE(ABORT, 'a payment''s create input never changes (the provider compares it on retries)');
END;

CREATE TABLE payment_refunds (
  -- Also the provider's refund reference (idempotency per payment).
  id                  TEXT PRIMARY KEY,
  org_id              TEXT NOT NULL,
  payment_id          TEXT NOT NULL REFERENCES payments(id) ON DELETE CASCADE,
  amount_minor        INTEGER NOT NULL CHECK (amount_minor BETWEEN 1 AND 99999999),
  currency            TEXT NOT NULL,
  reason              TEXT NOT NULL CHECK (reason IN ('requested_by_customer', 'duplicate', 'fraudulent')),
  note                TEXT NOT NULL DEFAULT '',
  -- requested (awaiting a person) → approved | rejected; approved → pending → succeeded | failed | canceled.
  status              TEXT NOT NULL CHECK (status IN ('requested', 'rejected', 'approved', 'pending', 'succeeded', 'failed', 'canceled')),
  requested_by        TEXT NOT NULL CHECK (requested_by IN ('agent', 'operator')),
  requested_by_user   TEXT,
  decided_by_user     TEXT,
  decision_note       TEXT,
  decided_at          INTEGER,
  provider_refund_ref TEXT,
  failure_reason      TEXT,
  last_error          TEXT,
  idempotency_key     TEXT,
  created_at          INTEGER NOT NULL,
  updated_at          INTEGER NOT NULL,
  settled_at          INTEGER,
  UNIQUE (org_id, idempotency_key)
);
CREATE INDEX payment_refunds_org ON payment_refunds(org_id, status, created_at);
CREATE INDEX payment_refunds_payment ON payment_refunds(payment_id);
CREATE INDEX payment_refunds_provider ON payment_refunds(provider_refund_ref) WHERE provider_refund_ref IS NOT NULL;

CREATE TRIGGER payment_refunds_forward_only BEFORE UPDATE OF status ON payment_refunds
WHEN NOT (NEW.status = OLD.status
  OR (OLD.status = 'requested' AND NEW.status IN ('approved', 'rejected'))
  OR (OLD.status = 'approved' AND NEW.status IN ('pending', 'succeeded', 'failed', 'canceled'))
  OR (OLD.status = 'pending' AND NEW.status IN ('succeeded', 'failed', 'canceled')))
BEGIN
  SELECT RAISE(ABORT, 'refund status moves forward only');
END;

-- In-process providers (sandbox, manual): the provider's own records, scoped by binding -----------

CREATE TABLE payment_local_payments (
  binding_id     TEXT NOT NULL REFERENCES payment_bindings(id) ON DELETE CASCADE,
  provider_ref   TEXT NOT NULL,
  reference      TEXT NOT NULL,
  amount_minor   INTEGER NOT NULL,
  currency       TEXT NOT NULL,
  description    TEXT NOT NULL,
  status         TEXT NOT NULL,
  expires_at     INTEGER NOT NULL,
  failure_reason TEXT,
  note           TEXT,
  created_at     INTEGER NOT NULL,
  updated_at     INTEGER NOT NULL,
  PRIMARY KEY (binding_id, provider_ref)
);

CREATE TABLE payment_local_refunds (
  binding_id       TEXT NOT NULL REFERENCES payment_bindings(id) ON DELETE CASCADE,
  refund_ref       TEXT NOT NULL,
  provider_ref     TEXT NOT NULL,
  refund_reference TEXT NOT NULL,
  amount_minor     INTEGER NOT NULL,
  currency         TEXT NOT NULL,
  reason           TEXT NOT NULL,
  status           TEXT NOT NULL,
  failure_reason   TEXT,
  created_at       INTEGER NOT NULL,
  updated_at       INTEGER NOT NULL,
  PRIMARY KEY (binding_id, refund_ref)
);
CREATE INDEX payment_local_refunds_payment ON payment_local_refunds(binding_id, provider_ref);

-- Configuration version (see 0004): the plugin list depends on whether an organisation has a
-- product (E-Commerce) and an active binding (Payments).
CREATE TRIGGER cv_product_ins AFTER INSERT ON commerce_products BEGIN SELECT plugboard_config_changed(); END;
CREATE TRIGGER cv_product_del AFTER DELETE ON commerce_products BEGIN SELECT plugboard_config_changed(); END;
CREATE TRIGGER cv_pbind_ins AFTER INSERT ON payment_bindings BEGIN SELECT plugboard_config_changed(); END;
CREATE TRIGGER cv_pbind_upd AFTER UPDATE OF status ON payment_bindings BEGIN SELECT plugboard_config_changed(); END;
CREATE TRIGGER cv_pbind_del AFTER DELETE ON payment_bindings BEGIN SELECT plugboard_config_changed(); END;
