/**
 * Master-key rotation: every sealed value in the database opened with the old key and sealed
 * again under the new one, in ONE immediate transaction — all or nothing — together with the
 * master-key verifier, so afterwards the old key is refused at start and the new one opens
 * everything.
 *
 * Where sealed values live is listed below (SEALED), each with the AAD its repository binds it to.
 * A column that looks sealed (`*_sealed`, `*_secrets`) but is not listed makes the rotation refuse
 * before anything changes: a secret this code does not know would otherwise be left under a key
 * that is about to be thrown away. A value that does not open under the old key refuses it too.
 *
 * Keys derived from the master key must outlive it: the WhatsApp customer-ref key (customer ids
 * are HMACs under it) is stored, sealed, in `meta.customer_ref_key` by the first rotation and read
 * from there afterwards (`storedCustomerRefKey`). Must never log or return a plaintext.
 */
import type { Db } from './db.ts';
import { createSecretBox, type SecretBox, VERIFIER_AAD, VERIFIER_PLAINTEXT } from './secret-box.ts';

const REF_KEY_AAD = 'meta|customer_ref_key';
const NOT_A_CREDENTIAL = { credential: false } as const;

interface SealedColumn {
  table: string;
  column: string;
  /** The row's primary key column. */
  id: string;
  /** AAD of a row's value (for JSON maps: of one entry, `key`). */
  aad(row: Record<string, string>, key?: string): string;
  /** Personal data rather than a credential (the box does not register it as a known secret). */
  personal?: boolean;
  /** A JSON object of name → sealed value instead of one sealed value. */
  jsonMap?: boolean;
}

/** Every sealed column of the schema and the AAD its repository uses (keep in step with the repositories). */
export const SEALED: readonly SealedColumn[] = [
  { table: 'whatsapp_instances', column: 'twilio_auth_token_sealed', id: 'id', aad: (r) => `whatsapp_instances|twilio_auth_token_sealed|${r.org_id}|${r.id}` },
  { table: 'whatsapp_customers', column: 'phone_sealed', id: 'id', personal: true, aad: (r) => `whatsapp_customers|phone_sealed|${r.org_id}|${r.id}` },
  { table: 'mcp_endpoints', column: 'credential_sealed', id: 'installation_id', aad: (r) => `plugin_installations|credential_sealed|${r.org_id}|${r.installation_id}` },
  { table: 'plugin_installations', column: 'credential_sealed', id: 'id', aad: (r) => `plugin_installations|credential_sealed|${r.org_id}|${r.id}` },
  { table: 'custom_plugins', column: 'signing_secret_sealed', id: 'id', aad: (r) => `custom_plugins|signing_secret|${r.org_id}|${r.id}` },
  { table: 'custom_plugins', column: 'previous_secret_sealed', id: 'id', aad: (r) => `custom_plugins|previous_secret|${r.org_id}|${r.id}` },
  { table: 'custom_installations', column: 'customer_key_sealed', id: 'installation_id', aad: (r) => `custom_installations|customer_key|${r.org_id}|${r.installation_id}` },
  { table: 'custom_installations', column: 'config_secrets', id: 'installation_id', jsonMap: true, aad: (r, key) => `custom_installations|config|${r.org_id}|${r.installation_id}|${key}` },
  { table: 'payment_bindings', column: 'secret_key_sealed', id: 'id', aad: (r) => `payment_bindings|secret_key_sealed|${r.org_id}|${r.id}` },
  { table: 'payment_bindings', column: 'webhook_secret_sealed', id: 'id', aad: (r) => `payment_bindings|webhook_secret_sealed|${r.org_id}|${r.id}` },
];

/** Column names that hold sealed values by this schema's convention. */
const LOOKS_SEALED = /(_sealed|_secrets)$/;

export class RekeyError extends Error {
  override name = 'RekeyError';
}

export interface RekeyResult {
  /** Sealed values re-sealed, by `table.column`. */
  resealed: Record<string, number>;
  total: number;
  oldKid: string;
  newKid: string;
}

function columnsOf(db: Db, table: string): string[] {
  return (db.prepare(`SELECT name FROM pragma_table_info(?)`).all(table) as Array<{ name: string }>).map((c) => c.name);
}

/** `table.column` of every column named like a sealed one that SEALED does not describe. */
export function unknownSealedColumns(db: Db): string[] {
  const known = new Set(SEALED.map((s) => `${s.table}.${s.column}`));
  const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").all() as Array<{ name: string }>).map((t) => t.name);
  const out: string[] = [];
  for (const t of tables) for (const c of columnsOf(db, t)) if (LOOKS_SEALED.test(c) && !known.has(`${t}.${c}`)) out.push(`${t}.${c}`);
  return out;
}

/** The customer-ref key a rotation stored, or null (then it is derived from the master key). */
export function storedCustomerRefKey(db: Db, box: SecretBox): Buffer | null {
  const row = db.prepare("SELECT value FROM meta WHERE key = 'customer_ref_key'").get() as { value: string } | undefined;
  return row ? Buffer.from(box.open(row.value, REF_KEY_AAD), 'base64') : null;
}

/**
 * Re-seals every sealed value from `oldKey` to `newKey` in one transaction. `customerRefKey` is the
 * ref key in use (derived from the old key, or the one stored earlier): stored under the new key.
 */
export function rekeyDatabase(db: Db, oldKey: Buffer, newKey: Buffer, customerRefKey: Buffer): RekeyResult {
  const oldBox = createSecretBox(oldKey);
  const newBox = createSecretBox(newKey);
  if (oldBox.kid === newBox.kid) throw new RekeyError('The new master key is the same as the current one.');
  const unknown = unknownSealedColumns(db);
  if (unknown.length) {
    throw new RekeyError(`Refusing to rotate: ${unknown.join(', ')} look like sealed columns this Plugboard does not know how to re-seal. Nothing was changed.`);
  }
  const resealed: Record<string, number> = {};
  const run = db.transaction((): void => {
    const check = db.prepare("SELECT value FROM meta WHERE key = 'master_key_check'").get() as { value: string } | undefined;
    if (!check) throw new RekeyError('This database has no master-key verifier yet: start Plugboard once before rotating its key.');
    let verified: string;
    try {
      verified = oldBox.open(check.value, VERIFIER_AAD, NOT_A_CREDENTIAL);
    } catch {
      throw new RekeyError('The current master key does not open this database: nothing was changed.');
    }
    if (verified !== VERIFIER_PLAINTEXT) throw new RekeyError('The current master key does not match this database: nothing was changed.');

    for (const col of SEALED) {
      const cols = columnsOf(db, col.table);
      if (!cols.includes(col.column)) continue; // a table or column this database's schema has not got
      const name = `${col.table}.${col.column}`;
      const rows = db.prepare(`SELECT * FROM ${col.table} WHERE ${col.column} IS NOT NULL`).all() as Array<Record<string, string>>;
      const update = db.prepare(`UPDATE ${col.table} SET ${col.column} = ? WHERE ${col.id} = ?`);
      const opts = col.personal ? NOT_A_CREDENTIAL : undefined;
      let n = 0;
      for (const row of rows) {
        const value = row[col.column];
        try {
          if (col.jsonMap) {
            const map = JSON.parse(value) as Record<string, string>;
            const next: Record<string, string> = {};
            for (const [k, sealed] of Object.entries(map)) {
              next[k] = newBox.seal(oldBox.open(sealed, col.aad(row, k), opts), col.aad(row, k), opts);
              n++;
            }
            update.run(JSON.stringify(next), row[col.id]);
          } else {
            update.run(newBox.seal(oldBox.open(value, col.aad(row), opts), col.aad(row), opts), row[col.id]);
            n++;
          }
        } catch (err) {
          if (err instanceof RekeyError) throw err;
          throw new RekeyError(`A value in ${name} (row ${row[col.id]}) does not open with the current master key: nothing was changed.`);
        }
      }
      if (n) resealed[name] = n;
    }
    const putMeta = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value');
    putMeta.run('customer_ref_key', newBox.seal(customerRefKey.toString('base64'), REF_KEY_AAD));
    putMeta.run('master_key_check', newBox.seal(VERIFIER_PLAINTEXT, VERIFIER_AAD, NOT_A_CREDENTIAL));
  });
  run.immediate();
  return { resealed, total: Object.values(resealed).reduce((a, b) => a + b, 0), oldKid: oldBox.kid, newKid: newBox.kid };
}
