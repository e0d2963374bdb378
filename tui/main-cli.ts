/**
 * Stand-alone entry for the operator TUI: `node tui/main-cli.ts --url URL [--token-file F] [--org ID]`
 * (PLUGBOARD_TUI_URL / PLUGBOARD_TUI_TOKEN / PLUGBOARD_TUI_TOKEN_FILE as fallbacks; `--token T`
 * works too but leaves the token in the process list and the shell history). `plugboard tui` in src/main.ts does the
 * same through runTui. It must stay a thin argument parser: no behaviour of its own.
 */
import { parseArgs } from 'node:util';
import { runTui } from './main.ts';
import { resolveToken } from './token.ts';

const USAGE = 'Usage: node tui/main-cli.ts --url URL [--token-file FILE | PLUGBOARD_TUI_TOKEN=… | --token TOKEN] [--org ORG_ID]';

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({ options: { url: { type: 'string' }, token: { type: 'string' }, 'token-file': { type: 'string' }, org: { type: 'string' }, help: { type: 'boolean' } }, strict: true }));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const url = values.url ?? process.env.PLUGBOARD_TUI_URL ?? 'http://127.0.0.1:8080';
  const found = resolveToken({ token: values.token, tokenFile: values['token-file'], env: process.env });
  if (!found.ok) {
    process.stderr.write(`${found.error}\n${USAGE}\n`);
    return 2;
  }
  const token = found.token;
  return runTui({ url, token, org: values.org });
}

// Exit explicitly: idle keep-alive sockets of fetch must not hold the process after the screen is gone.
process.exit(await main());
