/**
 * Where the TUI's token comes from, so it need not sit on the command line (visible in `ps` and
 * shell history): --token-file or --token when given, else PLUGBOARD_TUI_TOKEN, else
 * PLUGBOARD_TUI_TOKEN_FILE. The file holds the token on its first line (surrounding whitespace ignored).
 * Errors never echo the token.
 */
import fs from 'node:fs';

export type TokenResult = { ok: true; token: string; source: string } | { ok: false; error: string };

export function resolveToken(o: { token?: string; tokenFile?: string; env: NodeJS.ProcessEnv }): TokenResult {
  const fromFile = (file: string, source: string): TokenResult => {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      return { ok: false, error: `Cannot read the token file ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'}).` };
    }
    const token = text.split(/\r?\n/)[0].trim();
    return token ? { ok: true, token, source } : { ok: false, error: `The token file ${file} is empty.` };
  };
  // Explicit options win over the environment.
  if (o.tokenFile) return fromFile(o.tokenFile, '--token-file');
  if (o.token?.trim()) return { ok: true, token: o.token.trim(), source: '--token' };
  if (o.env.PLUGBOARD_TUI_TOKEN?.trim()) return { ok: true, token: o.env.PLUGBOARD_TUI_TOKEN.trim(), source: 'PLUGBOARD_TUI_TOKEN' };
  if (o.env.PLUGBOARD_TUI_TOKEN_FILE) return fromFile(o.env.PLUGBOARD_TUI_TOKEN_FILE, 'PLUGBOARD_TUI_TOKEN_FILE');
  return { ok: false, error: 'A token is required: --token-file FILE, PLUGBOARD_TUI_TOKEN or PLUGBOARD_TUI_TOKEN_FILE (or --token).' };
}
