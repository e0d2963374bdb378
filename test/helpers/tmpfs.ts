/**
 * A small tmpfs for tests that need a disk that fills up: mounted (as root) on a fresh temp dir,
 * filled to the last byte on demand, and always unmounted by `unmount()` (call it in a finally).
 * When it cannot be had (not root, no mount permission in the container) `mountTmpfs` returns the
 * reason: the test skips with it printed, and fails instead when CI=true.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';

export interface Tmpfs {
  dir: string;
  /** Writes a filler file until the file system answers ENOSPC; returns its path. */
  fill(): string;
  /** Removes the filler: the space is back. */
  free(): void;
  /** Unmounts (lazily if something still holds it) and removes the mount point. */
  unmount(): void;
}

/** Chunk sizes used to fill, largest first, down to the last block. */
const FILL_CHUNKS = [1024 * 1024, 64 * 1024, 4096, 512, 1];
/** Bound on filler writes: a tmpfs of a few MiB is full long before this. */
const MAX_FILL_WRITES = 100_000;

export function mountTmpfs(sizeBytes: number): Tmpfs | { unavailable: string } {
  if (process.getuid?.() !== 0) return { unavailable: 'not running as root: mounting a tmpfs needs it' };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plugboard-tmpfs-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeBytes},mode=0755`, 'tmpfs', dir], { stdio: 'pipe', timeout: 10_000 });
  } catch (err) {
    fs.rmdirSync(dir);
    const stderr = String((err as { stderr?: Buffer }).stderr ?? '').trim();
    return { unavailable: `mount -t tmpfs failed: ${stderr || (err as Error).message}` };
  }
  const filler = path.join(dir, 'filler');
  return {
    dir,
    fill() {
      const fd = fs.openSync(filler, 'a');
      try {
        let writes = 0;
        for (const size of FILL_CHUNKS) {
          const buf = Buffer.alloc(size, 1);
          for (; writes < MAX_FILL_WRITES; writes++) {
            try {
              fs.writeSync(fd, buf);
            } catch (err) {
              if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
              break;
            }
          }
        }
      } finally {
        fs.closeSync(fd);
      }
      return filler;
    },
    free() {
      fs.rmSync(filler, { force: true });
    },
    unmount() {
      try {
        execFileSync('umount', [dir], { stdio: 'pipe', timeout: 10_000 });
      } catch {
        execFileSync('umount', ['-l', dir], { stdio: 'pipe', timeout: 10_000 });
      }
      fs.rmdirSync(dir);
    },
  };
}
