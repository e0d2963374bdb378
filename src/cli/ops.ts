/**
 * Day-2 commands: `restore` (a backup file back into the data directory) and `master-key rotate`
 * (every sealed secret re-sealed under a new master key, storage/rekey.ts).
 *
 * Both refuse while a server runs on the data directory (its pid file names a live process): the
 * server holds the database and the key in memory and would write over a restore, or seal new
 * secrets under the old key after a rotation. `--force` overrides that check only — for a pid file
 * the check cannot see through (another machine, a reused pid) — never the checks of the backup or
 * the keys. Neither command ever prints or logs a key or a secret.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../config.ts';
import { openDb } from '../storage/db.ts';
import { loadMigrations } from '../storage/migrate.ts';
import { createSecretBox, loadMasterKey, parseMasterKey, verifyMasterKey } from '../storage/secret-box.ts';
import { runningServerPid } from '../storage/pid-file.ts';
import { backupsDirFor } from '../storage/migration-backup.ts';
import { rekeyDatabase, RekeyError, storedCustomerRefKey, type RekeyResult } from '../storage/rekey.ts';
import { deriveCustomerRefKey } from '../toolkits/whatsapp/customer-ref.ts';
import { journalFileFor } from '../usage/journal.ts';

/** A refusal the operator can act on (main.ts prints it without a stack, exit 1). */
export class OpsError extends Error {
  override name = 'OpsError';
}

function refuseWhileServing(config: Config, force: boolean, what: string): void {
  const pid = runningServerPid(config.dataDir);
  if (pid !== null && !force) {
    throw new OpsError(`A Plugboard server (pid ${pid}) is running on ${config.dataDir}: stop it first (docker compose stop, systemctl stop, Ctrl-C), then ${what}. If no server runs there, pass --force.`);
  }
}

const stamp = (): string => new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');

export interface RestoreResult {
  restored: string;
  from: string;
  schemaVersion: number;
  /** The database that was replaced, copied first (null when there was none). */
  previous: string | null;
}

/**
 * Puts the database in `from` in place of the live one. Checks first, changing nothing when any
 * fails: a readable SQLite file that passes quick_check, a Plugboard schema not newer than this
 * code, and a master-key verifier the configured key opens (else its secrets would be unreadable).
 * Then the live database is copied to `<data dir>/backups/pre-restore-<time>.db`, the backup is
 * copied into a temporary file beside it and renamed over it (never half a database), and the old
 * database's -wal/-shm and usage journal are moved out of the way so they cannot mix with the new file.
 */
export function restoreDatabase(config: Config, from: string, opts: { force: boolean }): RestoreResult {
  const source = path.resolve(from);
  const target = path.resolve(config.dbFile);
  if (source === target) throw new OpsError(`${source} is the live database itself; name a backup file.`);
  if (!fs.existsSync(source) || !fs.statSync(source).isFile()) throw new OpsError(`No backup file at ${source}.`);
  refuseWhileServing(config, opts.force, 'restore');

  // 1. The backup must be a sound Plugboard database this code and this key can use.
  let schemaVersion: number;
  const latest = loadMigrations().length;
  let src;
  try {
    src = openDb({ file: source, readonly: true });
  } catch (err) {
    throw new OpsError(`${source} cannot be opened as a database: ${(err as Error).message}`);
  }
  try {
    let check: unknown;
    try {
      check = src.pragma('quick_check', { simple: true });
    } catch (err) {
      throw new OpsError(`${source} is not a SQLite database: ${(err as Error).message}`);
    }
    if (check !== 'ok') throw new OpsError(`${source} is damaged (quick_check: ${String(check)}); nothing was changed.`);
    schemaVersion = src.pragma('user_version', { simple: true }) as number;
    const hasMeta = src.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").get();
    if (schemaVersion < 1 || !hasMeta) throw new OpsError(`${source} is not a Plugboard database; nothing was changed.`);
    if (schemaVersion > latest) throw new OpsError(`${source} has schema ${schemaVersion}, newer than this Plugboard (${latest}): restore it with the version that made it.`);
    let key: Buffer;
    try {
      key = loadMasterKey({ envValue: config.masterKey, keyFile: config.masterKeyFile, createIfMissing: false }).key;
    } catch (err) {
      throw new OpsError(`${(err as Error).message} A restore needs the master key the backup was made with (the key file, or PLUGBOARD_MASTER_KEY).`);
    }
    if (src.prepare("SELECT 1 FROM meta WHERE key = 'master_key_check'").get()) {
      try {
        verifyMasterKey(src, createSecretBox(key));
      } catch {
        throw new OpsError(`The configured master key does not open ${source}: it was made under another key (before a rotation?). Configure that key, then restore; nothing was changed.`);
      }
    }
  } finally {
    src.close();
  }

  // 2. A copy of what is there now, then the backup in its place.
  fs.mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  let previous: string | null = null;
  const live = [target, `${target}-wal`, `${target}-shm`];
  if (fs.existsSync(target)) {
    const dir = backupsDirFor(target);
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    previous = path.join(dir, `pre-restore-${stamp()}.db`);
    const cur = openDb({ file: target });
    try {
      cur.prepare('VACUUM INTO ?').run(previous);
      fs.chmodSync(previous, 0o600);
      cur.pragma('wal_checkpoint(TRUNCATE)');
    } finally {
      cur.close();
    }
  }
  const temp = path.join(config.dataDir, `.restore-${process.pid}.tmp`);
  fs.rmSync(temp, { force: true });
  const copy = openDb({ file: source, readonly: true });
  try {
    copy.prepare('VACUUM INTO ?').run(temp);
  } catch (err) {
    fs.rmSync(temp, { force: true });
    throw new OpsError(`Copying ${source} failed: ${(err as Error).message}; nothing was changed.`);
  } finally {
    copy.close();
  }
  fs.chmodSync(temp, 0o600);
  // The old database's WAL must never be read against the new file.
  for (const f of live.slice(1)) fs.rmSync(f, { force: true });
  const journal = journalFileFor(target);
  if (fs.existsSync(journal) && fs.statSync(journal).size > 0 && previous) fs.renameSync(journal, `${previous}.usage-journal`);
  else fs.rmSync(journal, { force: true });
  fs.renameSync(temp, target);
  return { restored: target, from: source, schemaVersion, previous };
}

export interface RotateResult extends RekeyResult {
  /** Where the new key is now. */
  keyFile: string;
  /** Where the old key went (key file set-ups): needed for backups made before the rotation. */
  retiredKeyFile: string | null;
  /** True when an interrupted rotation was completed instead of a new one started. */
  resumed: boolean;
}

/**
 * Rotates the master key. With a key file: the new key is written to `<key file>.new` first, the
 * database is re-sealed in one transaction, then the old file is renamed `<key file>.retired-<kid>`
 * and the new one takes its name. Interrupted between the commit and the renames, the next run
 * finds the `.new` file opening the database and just finishes. With PLUGBOARD_MASTER_KEY the
 * new key goes to `--new-key-file` (which must not exist) and the operator updates the variable.
 * `--new-key-file` naming an existing file with a key uses that key instead of a random one.
 */
export function rotateMasterKey(config: Config, opts: { newKeyFile?: string; force: boolean }): RotateResult {
  if (!fs.existsSync(config.dbFile)) throw new OpsError(`No Plugboard database at ${config.dbFile}.`);
  refuseWhileServing(config, opts.force, 'rotate the key');
  const fromEnv = Boolean(config.masterKey);
  if (fromEnv && !opts.newKeyFile) {
    throw new OpsError('The master key comes from PLUGBOARD_MASTER_KEY: pass --new-key-file FILE for the new key, then set PLUGBOARD_MASTER_KEY to its content.');
  }
  const pending = `${config.masterKeyFile}.new`;
  const db = openDb({ file: config.dbFile });
  try {
    // An interrupted rotation: the database is already under the `.new` key.
    if (!fromEnv && fs.existsSync(pending)) {
      const next = parseMasterKey(fs.readFileSync(pending, 'utf8'));
      try {
        verifyMasterKey(db, createSecretBox(next));
        const oldKid = fs.existsSync(config.masterKeyFile) ? createSecretBox(parseMasterKey(fs.readFileSync(config.masterKeyFile, 'utf8'))).kid : 'unknown';
        const retired = swapKeyFiles(config.masterKeyFile, pending, oldKid);
        return { resealed: {}, total: 0, oldKid, newKid: createSecretBox(next).kid, keyFile: config.masterKeyFile, retiredKeyFile: retired, resumed: true };
      } catch (err) {
        if (err instanceof OpsError) throw err;
        fs.rmSync(pending); // written by a run that stopped before its commit: start over
      }
    }
    const oldKey = loadMasterKey({ envValue: config.masterKey, keyFile: config.masterKeyFile, createIfMissing: false }).key;
    const oldBox = createSecretBox(oldKey);
    try {
      verifyMasterKey(db, oldBox);
    } catch (err) {
      throw new OpsError(`${(err as Error).message} Nothing was changed.`);
    }
    const refKey = storedCustomerRefKey(db, oldBox) ?? deriveCustomerRefKey(oldKey);

    let newKey: Buffer;
    const newKeyFile = opts.newKeyFile ? path.resolve(opts.newKeyFile) : pending;
    if (opts.newKeyFile && !fromEnv && !fs.existsSync(newKeyFile)) {
      throw new OpsError(`${newKeyFile} does not exist. With a key file, --new-key-file names a prepared key to rotate to; leave it out for a random one.`);
    }
    if (opts.newKeyFile && fs.existsSync(newKeyFile)) {
      if (fromEnv) throw new OpsError(`${newKeyFile} already exists: name a new file for the new key.`);
      newKey = parseMasterKey(fs.readFileSync(newKeyFile, 'utf8'));
      fs.copyFileSync(newKeyFile, pending);
      fs.chmodSync(pending, 0o600);
    } else {
      newKey = crypto.randomBytes(32);
      writeKeyFile(fromEnv ? newKeyFile : pending, newKey);
    }
    let result: RekeyResult;
    try {
      result = rekeyDatabase(db, oldKey, newKey, refKey);
    } catch (err) {
      fs.rmSync(fromEnv ? newKeyFile : pending, { force: true });
      if (err instanceof RekeyError) throw new OpsError(err.message);
      throw err;
    }
    if (fromEnv) return { ...result, keyFile: newKeyFile, retiredKeyFile: null, resumed: false };
    const retired = swapKeyFiles(config.masterKeyFile, pending, result.oldKid);
    return { ...result, keyFile: config.masterKeyFile, retiredKeyFile: retired, resumed: false };
  } finally {
    db.close();
  }
}

/** A new file (never over an existing one), 0600, flushed to disk before the database depends on it. */
function writeKeyFile(file: string, key: Buffer): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const fd = fs.openSync(file, 'wx', 0o600);
  try {
    fs.writeSync(fd, key.toString('base64') + '\n');
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

function swapKeyFiles(keyFile: string, pending: string, oldKid: string): string | null {
  let retired: string | null = null;
  if (fs.existsSync(keyFile)) {
    retired = `${keyFile}.retired-${oldKid}`;
    fs.renameSync(keyFile, retired);
  }
  fs.renameSync(pending, keyFile);
  return retired;
}
