/**
 * The usage journal: an append-only file beside the database holding the usage events the
 * recorder has vouched for but not yet written to SQLite (usage/recorder.ts).
 *
 * One write per event-loop turn, one JSON line per event with a sequence number. No fsync: it
 * must survive the process being killed, which a write to the page cache does (an OS crash may
 * lose the last moments, as SQLite's synchronous=NORMAL may). Emptied whenever a batch reaches
 * SQLite, which stores the batch's last sequence number in the same transaction; at start the
 * lines above that number are replayed. Must never be read while the server runs, and never
 * hold anything but usage events (no bodies, no secrets: usage rows carry neither).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { UsageEventInput } from '../storage/repos/usage-events.ts';

export interface JournalEntry {
  seq: number;
  event: UsageEventInput;
}

export interface UsageJournal {
  /** Appends entries in one write; throws (leaving the file as it was) when the file system refuses. */
  append(entries: readonly JournalEntry[]): void;
  /** Empties the file: everything in it is in SQLite (or was given up). */
  clear(): void;
  /** The entries in the file, in order; a torn last line (an OS crash mid-write) is skipped. */
  readAll(): JournalEntry[];
  close(): void;
}

/** The journal's file for a database file. */
export function journalFileFor(dbFile: string): string {
  return path.join(path.dirname(dbFile), 'usage.journal');
}

export function openUsageJournal(file: string): UsageJournal {
  // 0600 like the database: usage rows name organisations, keys and models.
  const fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_APPEND, 0o600);
  let size = fs.fstatSync(fd).size;
  return {
    append(entries) {
      // The line is built as text and written as text: no wrapper object, no intermediate Buffer.
      let text = '';
      for (const e of entries) text += `{"s":${e.seq},"e":${JSON.stringify(e.event)}}\n`;
      const length = Buffer.byteLength(text);
      let written = 0;
      try {
        written = fs.writeSync(fd, text);
      } finally {
        if (written !== length) {
          // A short write (disk full mid-line) must not leave half a line for the next append to follow.
          if (written > 0) fs.ftruncateSync(fd, size);
        }
      }
      if (written !== length) throw Object.assign(new Error('usage journal: short write'), { code: 'ENOSPC' });
      size += written;
    },
    clear() {
      if (size === 0) return;
      fs.ftruncateSync(fd, 0);
      size = 0;
    },
    readAll() {
      const out: JournalEntry[] = [];
      const text = fs.readFileSync(file, 'utf8');
      for (const line of text.split('\n')) {
        if (!line) continue;
        try {
          const { s, e } = JSON.parse(line) as { s: number; e: UsageEventInput };
          if (Number.isSafeInteger(s) && e && typeof e === 'object') out.push({ seq: s, event: e });
        } catch {
          // Only the last line can be torn, and only by an OS crash, which the journal does not promise to survive.
        }
      }
      return out;
    },
    close() {
      fs.closeSync(fd);
    },
  };
}
