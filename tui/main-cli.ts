/**
 * Stand-alone entry for the operator TUI: `node tui/main-cli.ts --url URL --token T [--org ID]`
 * (PLUGBOARD_TUI_URL / PLUGBOARD_TUI_TOKEN as fallbacks). `plugboard tui` in src/main.ts does the
 * same through runTui. It must stay a thin argument parser: no behaviour of its own.
 */
import { parseArgs } from 'node:util';
import { runTui } from './main.ts';

const USAGE = 'Usage: node tui/main-cli.ts --url URL --token TOKEN [--org ORG_ID]';

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({ options: { url: { type: 'string' }, token: { type: 'string' }, org: { type: 'string' }, help: { type: 'boolean' } }, strict: true }));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const url = values.url ?? process.env.PLUGBOARD_TUI_URL ?? 'http://127.0.0.1:8080';
  const token = values.token ?? process.env.PLUGBOARD_TUI_TOKEN;
  if (!token) {
    process.stderr.write(`A control-panel token is required (--token or PLUGBOARD_TUI_TOKEN).\n${USAGE}\n`);
    return 2;
  }
  return runTui({ url, token, org: values.org });
}

// Exit explicitly: idle keep-alive sockets of fetch must not hold the process after the screen is gone.
process.exit(await main());
