/**
 * Reads a plugin manifest file named in the developer screen (the TUI runs where the author's
 * files are): `~` expands to the home directory, the file is capped in size (the server refuses
 * manifests over 64 KiB anyway; this only keeps a wrong path to a huge file from being read), and
 * JSON errors are reported with the file's name. The server validates the manifest itself.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseManifestText } from './views/dev-plugins.ts';

/** Larger files are refused before reading: the server's limit is 64 KiB. */
export const MANIFEST_FILE_MAX_BYTES = 1024 * 1024;

export function readManifestFile(file: string): { ok: true; manifest: Record<string, unknown> } | { ok: false; message: string } {
  const resolved = path.resolve(file.startsWith('~/') ? path.join(os.homedir(), file.slice(2)) : file);
  let stat: fs.Stats;
  try {
    stat = fs.statSync(resolved);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { ok: false, message: code === 'ENOENT' ? `No file ${resolved} (give a manifest URL or a path to plugboard-plugin.json).` : `Cannot read ${resolved}: ${code ?? (err as Error).message}.` };
  }
  if (!stat.isFile()) return { ok: false, message: `${resolved} is not a file.` };
  if (stat.size > MANIFEST_FILE_MAX_BYTES) return { ok: false, message: `${resolved} is ${stat.size} bytes; a manifest is at most 64 KiB.` };
  let text: string;
  try {
    text = fs.readFileSync(resolved, 'utf8');
  } catch (err) {
    return { ok: false, message: `Cannot read ${resolved}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}.` };
  }
  return parseManifestText(text, resolved);
}
