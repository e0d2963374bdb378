/**
 * Child processes of the benchmark: servers that announce `{"ready":true,"port":…}` on stdout,
 * servers that log to a file and are polled for health, and one-shot CLI commands.
 * Every child is remembered and killed (by its own pid) when the orchestrator exits.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import fs from 'node:fs';
import readline from 'node:readline';

const live = new Set<ChildProcess>();
let hooked = false;

/** Remembers `child` so it is killed if the orchestrator exits first. */
export function track(child: ChildProcess): void {
  live.add(child);
  child.once('exit', () => live.delete(child));
  if (hooked) return;
  hooked = true;
  process.once('exit', () => {
    for (const c of live) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  });
}

/** Kills every child still running (SIGTERM); used on SIGINT. */
export function killAllChildren(): void {
  for (const c of live) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
}

export interface ChildHandle {
  name: string;
  pid: number;
  child: ChildProcess;
  /** Port announced by the child (ready-line servers) or chosen for it. */
  port: number;
  logFile?: string;
  /** SIGTERM, then SIGKILL after `graceMs`. Resolves once the process is gone. */
  stop(graceMs?: number): Promise<void>;
  /** Describes how the process ended, when it has. */
  exitDescription(): string | undefined;
}

function makeHandle(name: string, child: ChildProcess, port: number, logFile?: string): ChildHandle {
  let exit: string | undefined;
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      exit = `exited with ${child.exitCode ?? child.signalCode}`;
      resolve();
      return;
    }
    child.once('exit', (code, signal) => {
      exit = signal ? `killed by ${signal}` : `exited with code ${code}`;
      resolve();
    });
  });
  return {
    name,
    pid: child.pid ?? -1,
    child,
    port,
    logFile,
    exitDescription: () => exit,
    async stop(graceMs = 5000) {
      if (exit) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * Starts `node <script> …args` and waits (bounded) for its ready line on stdout.
 * stderr is passed through so a crash is visible.
 */
export async function spawnReadyServer(name: string, script: string, args: string[], timeoutMs = 15_000): Promise<ChildHandle> {
  const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  track(child);
  const port = await new Promise<number>((resolve, reject) => {
    const rl = readline.createInterface({ input: child.stdout! });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${name} did not report ready within ${timeoutMs} ms`));
    }, timeoutMs);
    const onExit = (code: number | null, signal: string | null) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited before it was ready (code ${code}, signal ${signal})`));
    };
    child.once('exit', onExit);
    rl.on('line', (line) => {
      try {
        const msg = JSON.parse(line);
        if (msg?.ready && typeof msg.port === 'number') {
          clearTimeout(timer);
          child.off('exit', onExit);
          resolve(msg.port);
        }
      } catch {
        /* other output */
      }
    });
  });
  child.stdout!.resume(); // keep draining
  return makeHandle(name, child, port);
}

/** Starts a long-running process with stdout and stderr appended to `logFile`. */
export function spawnLogged(name: string, args: string[], env: NodeJS.ProcessEnv, port: number, logFile: string, cwd?: string): ChildHandle {
  const fd = fs.openSync(logFile, 'a');
  const opts: SpawnOptions = { stdio: ['ignore', fd, fd], env, cwd };
  const child = spawn(process.execPath, args, opts);
  fs.closeSync(fd);
  track(child);
  return makeHandle(name, child, port, logFile);
}

export interface CliResult {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** Runs `node …args` to completion (bounded) and collects its output. */
export function runNode(args: string[], env: NodeJS.ProcessEnv, timeoutMs: number, cwd?: string): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env, cwd });
    track(child);
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout!.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr!.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.once('error', (err) => {
      stderr += String(err);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut });
    });
  });
}

/** A port that was free a moment ago (for servers that must be told their port). */
export async function freePort(): Promise<number> {
  const net = await import('node:net');
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Last `lines` lines of a text file ('' when unreadable). */
export function tail(file: string, lines = 30): string {
  try {
    const text = fs.readFileSync(file, 'utf8');
    return text.split('\n').slice(-lines - 1).join('\n');
  } catch {
    return '';
  }
}

/** Polls `url` until it answers 200, bounded by `timeoutMs`; fails fast if `handle` exits. */
export async function waitForHttp200(url: string, timeoutMs: number, handle?: ChildHandle): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    const ended = handle?.exitDescription();
    if (ended) throw new Error(`${handle!.name} ${ended} before ${url} answered`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.status === 200) return;
      last = `HTTP ${res.status}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not answer 200 within ${timeoutMs} ms (last: ${last})`);
}
