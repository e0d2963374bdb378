/**
 * `<data dir>/plugboard.pid`: written by a serving process, so commands that must not run beside
 * one (restore, master-key rotation) can tell. A file whose process is gone (killed, crashed) is
 * stale and ignored. The check is advisory — another machine mounting the same directory is not
 * seen — which is why those commands also offer --force and say so.
 */
import fs from 'node:fs';
import path from 'node:path';

export function pidFileIn(dataDir: string): string {
  return path.join(dataDir, 'plugboard.pid');
}

/** Records this process as the server of `dataDir` (mode 0600). Failures are the caller's to log. */
export function writePidFile(dataDir: string, pid = process.pid): void {
  fs.writeFileSync(pidFileIn(dataDir), `${pid}\n`, { mode: 0o600 });
}

/** Removes the pid file if it still names `pid` (a newer server's file is left alone). */
export function removePidFile(dataDir: string, pid = process.pid): void {
  try {
    if (fs.readFileSync(pidFileIn(dataDir), 'utf8').trim() === String(pid)) fs.rmSync(pidFileIn(dataDir), { force: true });
  } catch {
    // Already gone.
  }
}

/** The pid of a live server of `dataDir`, or null (no file, unreadable, or its process is gone). */
export function runningServerPid(dataDir: string): number | null {
  let pid: number;
  try {
    pid = Number(fs.readFileSync(pidFileIn(dataDir), 'utf8').trim());
  } catch {
    return null;
  }
  // Our own pid: a file left by an earlier container whose server was pid 1, as this command is now.
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return null;
  try {
    process.kill(pid, 0);
    return pid;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else — still a server.
    return (err as NodeJS.ErrnoException).code === 'EPERM' ? pid : null;
  }
}
