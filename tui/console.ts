/**
 * Sends `console.*` output to a function (the log pane) while the screen owns the terminal, so a
 * stray log line cannot scribble over the layout; returns the function that restores console.
 * It must never write to stdout/stderr itself.
 */
import { format } from 'node:util';

export type ConsoleLevel = 'log' | 'info' | 'warn' | 'error' | 'debug';
const LEVELS: readonly ConsoleLevel[] = ['log', 'info', 'warn', 'error', 'debug'];

export function redirectConsole(write: (level: ConsoleLevel, text: string) => void): () => void {
  const saved = LEVELS.map((level) => [level, console[level]] as const);
  for (const level of LEVELS) {
    console[level] = (...args: unknown[]): void => write(level, format(...args));
  }
  return () => {
    for (const [level, fn] of saved) console[level] = fn;
  };
}
