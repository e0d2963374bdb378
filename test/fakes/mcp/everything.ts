/**
 * Runs `@modelcontextprotocol/server-everything` (Streamable HTTP) as a child process on
 * 127.0.0.1 for tests: a preload forces its listen onto loopback and reports the port it got.
 * It must never leave the child running: close() kills it by PID, SIGKILL after a grace period.
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Longest wait for the child to listen; a cold start takes well under a second. */
const READY_TIMEOUT_MS = 15_000;
/** Grace period between SIGTERM and SIGKILL on close. */
const KILL_GRACE_MS = 2_000;
/** Keep this much of the child's stderr for failure messages. */
const STDERR_KEEP_CHARS = 4_000;

export interface EverythingServer extends AsyncDisposable {
  /** Streamable HTTP endpoint, `http://127.0.0.1:PORT/mcp`. */
  url: string;
  pid: number;
  close(): Promise<void>;
}

/** Spawns server-everything with `streamableHttp`, waits until it listens, and returns its URL. */
export async function startEverythingServer(): Promise<EverythingServer> {
  const require = createRequire(import.meta.url);
  const pkgJson = require.resolve('@modelcontextprotocol/server-everything/package.json');
  const entry = path.join(path.dirname(pkgJson), 'dist', 'index.js');
  const preload = fileURLToPath(new URL('./listen-loopback-preload.ts', import.meta.url));

  const child = spawn(process.execPath, ['--import', preload, entry, 'streamableHttp'], {
    env: { PATH: process.env.PATH ?? '', PORT: '0', NODE_ENV: 'test' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  let exited = child.exitCode !== null;
  const exitPromise = new Promise<void>((resolve) => child.once('exit', () => ((exited = true), resolve())));

  const close = async () => {
    if (exited || child.pid === undefined) return;
    process.kill(child.pid, 'SIGTERM');
    const timer = setTimeout(() => {
      if (!exited && child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
    }, KILL_GRACE_MS);
    await exitPromise;
    clearTimeout(timer);
  };

  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`server-everything did not listen within ${READY_TIMEOUT_MS} ms`)), READY_TIMEOUT_MS);
    const fail = (err: Error) => {
      clearTimeout(timer);
      reject(new Error(`${err.message}\n--- stderr ---\n${stderr}`));
    };
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-STDERR_KEEP_CHARS);
      const match = /PLUGBOARD_TEST_LISTENING (\d+)/.exec(stderr);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    child.once('error', fail);
    child.once('exit', (code) => fail(new Error(`server-everything exited early (code ${code})`)));
  }).catch(async (err: unknown) => {
    await close();
    throw err;
  });

  return {
    url: `http://127.0.0.1:${port}/mcp`,
    pid: child.pid as number,
    close,
    [Symbol.asyncDispose]: close,
  };
}
