/**
 * Secrets at rest: AES-256-GCM under the appliance's master key.
 *
 * Sealed format: `v1|<kid>|<iv b64url>|<tag b64url>|<ciphertext b64url>`. The caller's AAD binds a
 * ciphertext to its row (`table|column|org_id|row_id`), so a value copied to another row or
 * organisation fails to open. A wrong master key is reported as such, never as garbage text.
 *
 * Every value sealed or opened is a credential unless the caller says otherwise (`{ credential:
 * false }`: personal data such as a customer's phone number), and credentials are registered with
 * the known-secrets registry, so the redactor at every exit knows them: a new kind of sealed
 * secret is covered by default. Must never log or return plaintext.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Db } from './db.ts';
import type { KnownSecrets } from './known-secrets.ts';

const IV_BYTES = 12;
const TAG_BYTES = 16;
export const VERIFIER_AAD = 'meta|master_key_check';
export const VERIFIER_PLAINTEXT = 'plugboard-master-key-check';
/** The verifier is a known constant, not a secret. */
const NOT_A_CREDENTIAL: SealOptions = { credential: false };

export class MasterKeyError extends Error {
  override name = 'MasterKeyError';
}

export interface SealOptions {
  /** false: the value is personal data, not a credential, and is not registered as a known secret. Default true. */
  credential?: boolean;
}

export interface SecretBox {
  /** Key id: a short fingerprint of the master key, stored with every ciphertext. */
  readonly kid: string;
  seal(plaintext: string, aad: string, opts?: SealOptions): string;
  open(sealed: string, aad: string, opts?: SealOptions): string;
}

export function createSecretBox(key: Buffer, opts: { secrets?: KnownSecrets } = {}): SecretBox {
  if (key.length !== 32) throw new MasterKeyError('The master key must be 32 bytes.');
  const kid = crypto.createHash('sha256').update(key).digest('hex').slice(0, 8);
  const register = (plaintext: string, o: SealOptions | undefined): void => {
    if (o?.credential !== false) opts.secrets?.addSealed(plaintext);
  };
  return {
    kid,
    seal(plaintext, aad, o) {
      register(plaintext, o);
      const iv = crypto.randomBytes(IV_BYTES);
      const cipher = crypto.createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
      cipher.setAAD(Buffer.from(aad, 'utf8'));
      const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      const tag = cipher.getAuthTag();
      return ['v1', kid, iv.toString('base64url'), tag.toString('base64url'), ct.toString('base64url')].join('|');
    },
    open(sealed, aad, o) {
      const parts = sealed.split('|');
      if (parts.length !== 5 || parts[0] !== 'v1') throw new MasterKeyError('A stored secret is not in a format this Plugboard reads.');
      const [, storedKid, ivB64, tagB64, ctB64] = parts;
      if (storedKid !== kid) {
        throw new MasterKeyError(`A stored secret was sealed with master key ${storedKid}, but the configured master key is ${kid}.`);
      }
      let plaintext: string;
      try {
        const decipher = crypto.createDecipheriv('aes-256-gcm', key, Buffer.from(ivB64, 'base64url'), { authTagLength: TAG_BYTES });
        decipher.setAAD(Buffer.from(aad, 'utf8'));
        decipher.setAuthTag(Buffer.from(tagB64, 'base64url'));
        plaintext = Buffer.concat([decipher.update(Buffer.from(ctB64, 'base64url')), decipher.final()]).toString('utf8');
      } catch {
        throw new MasterKeyError('A stored secret failed authentication: wrong master key, or the value was moved or altered.');
      }
      register(plaintext, o);
      return plaintext;
    },
  };
}

export interface MasterKeySource {
  key: Buffer;
  /** Where it came from: 'env' or the key file path. */
  source: string;
  created: boolean;
}

/** Parses a 32-byte key written as 64 hex digits or base64/base64url. */
export function parseMasterKey(text: string): Buffer {
  const t = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(t)) return Buffer.from(t, 'hex');
  const b = Buffer.from(t, 'base64');
  if (b.length === 32) return b;
  throw new MasterKeyError('The master key must be 32 bytes, written as 64 hex digits or base64.');
}

/**
 * Takes the master key from `envValue` if set, otherwise from `keyFile`, creating that file
 * (mode 0600) with a fresh random key when it does not exist and `createIfMissing` is true.
 */
export function loadMasterKey(opts: { envValue?: string; keyFile: string; createIfMissing: boolean }): MasterKeySource {
  if (opts.envValue) return { key: parseMasterKey(opts.envValue), source: 'env', created: false };
  if (fs.existsSync(opts.keyFile)) {
    return { key: parseMasterKey(fs.readFileSync(opts.keyFile, 'utf8')), source: opts.keyFile, created: false };
  }
  if (!opts.createIfMissing) throw new MasterKeyError(`No master key: set PLUGBOARD_MASTER_KEY or create ${opts.keyFile}.`);
  fs.mkdirSync(path.dirname(opts.keyFile), { recursive: true, mode: 0o700 });
  const key = crypto.randomBytes(32);
  // 'wx' fails if another process created it meanwhile; then read theirs.
  try {
    fs.writeFileSync(opts.keyFile, key.toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return { key: parseMasterKey(fs.readFileSync(opts.keyFile, 'utf8')), source: opts.keyFile, created: false };
  }
  return { key, source: opts.keyFile, created: true };
}

/**
 * Stores a verifier sealed with the key on first use and checks it afterwards, so a wrong key is
 * caught at start-up with a clear message instead of when the first secret is read.
 */
export function verifyMasterKey(db: Db, box: SecretBox): void {
  const row = db.prepare('SELECT value FROM meta WHERE key = ?').get('master_key_check') as { value: string } | undefined;
  if (!row) {
    db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)').run('master_key_check', box.seal(VERIFIER_PLAINTEXT, VERIFIER_AAD, NOT_A_CREDENTIAL));
    return;
  }
  let text: string;
  try {
    text = box.open(row.value, VERIFIER_AAD, NOT_A_CREDENTIAL);
  } catch (err) {
    throw new MasterKeyError(`The master key does not match this database. ${(err as Error).message}`);
  }
  if (text !== VERIFIER_PLAINTEXT) throw new MasterKeyError('The master key does not match this database.');
}
