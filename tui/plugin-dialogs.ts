/**
 * The two modal dialogs of installing a custom plugin that the shell's dialogs (tui/dialogs.ts)
 * have no shape for: the configuration form generated from the manifest's `config[]` (typed
 * fields: text, numbers, masked secrets, yes/no toggles, select lists that cycle through their
 * options) and the consent screen (every permission with its label and description and a box to
 * tick, then the tools, toolkits, mode and base URL). While one is open the screen's own key
 * handlers are held back (`screen.grabKeys`), so pane and tab keys typed into a field stay text.
 * Dialogs only gather answers: they must never call the API. C-c still quits (ignoreLocked).
 */
import blessed from 'blessed';
import type { Widgets } from 'blessed';
import type { PluginConfigField, PluginPermission } from '../src/shared/api.ts';
import { holdModal } from './dialogs.ts';
import { consentLine, consentProblem, wrapLine } from './views/plugin-directory.ts';
import { clean, displayWidth } from './views/text.ts';

type Key = { name?: string; ctrl?: boolean; meta?: boolean; full?: string };

/**
 * Opens `el` modally (keys grabbed, focus saved, registered with the shell's dialogs so a tab click
 * or a global key cannot switch the pane under it); the returned `close` undoes it exactly once.
 */
function modal(screen: Widgets.Screen, el: Widgets.BoxElement, signal: AbortSignal, onCancel: () => void): () => void {
  const grabbed = screen.grabKeys;
  const release = holdModal(screen, () => onCancel(), el);
  screen.saveFocus();
  screen.grabKeys = true;
  el.setFront();
  el.focus();
  let closed = false;
  const abort = (): void => onCancel();
  signal.addEventListener('abort', abort, { once: true });
  const close = (): void => {
    if (closed) return;
    closed = true;
    signal.removeEventListener('abort', abort);
    release();
    screen.grabKeys = grabbed;
    el.destroy();
    screen.restoreFocus();
    screen.render();
  };
  return close;
}

function dialogBox(screen: Widgets.Screen, title: string): Widgets.BoxElement {
  return blessed.box({
    parent: screen, top: 'center', left: 'center', width: '90%', height: '90%', border: { type: 'line' }, label: ` ${title} `,
    tags: false, keys: true, style: { border: { fg: 'cyan' }, label: { bold: true } },
  });
}

/** A scrollable text area inside `box` above a one-line help and a one-line (red) message. */
function bodyOf(box: Widgets.BoxElement, help: string) {
  const text = blessed.box({ parent: box, top: 0, left: 1, right: 1, bottom: 2, tags: false, wrap: false, scrollable: true, alwaysScroll: true });
  const message = blessed.text({ parent: box, bottom: 1, left: 1, right: 1, height: 1, tags: false, style: { fg: 'red', bold: true } });
  blessed.text({ parent: box, bottom: 0, left: 1, right: 1, height: 1, tags: false, content: help, style: { fg: 'gray' } });
  const width = (): number => Math.max(20, (text.width as number) || 40);
  const height = (): number => Math.max(3, (text.height as number) || 10);
  return { text, message, width, height };
}

/** Shows `lines` with line `focus` kept in view. */
function show(body: ReturnType<typeof bodyOf>, lines: string[], focus: number): void {
  body.text.setContent(lines.join('\n'));
  const h = body.height();
  const top = Math.max(0, Math.min(focus - Math.floor(h / 3), lines.length - h));
  body.text.scrollTo(0);
  body.text.setScroll(top);
}

export interface ConfigFormOptions {
  title: string;
  /** Lines above the fields (what is being configured). */
  intro: string[];
  fields: readonly PluginConfigField[];
  /** The text each field starts with (by key); the caller keeps it between attempts. */
  values: Record<string, string>;
  /** Problems of the previous attempt, shown above the fields. */
  problems?: string[];
  /** Placeholder of a secret that has a stored value (shown while the field is empty). */
  storedSecrets?: ReadonlySet<string>;
  signal: AbortSignal;
}

/**
 * The configuration form: Up/Down (or Tab) move, typing edits text fields, Space or Left/Right
 * toggle a yes/no field and cycle a select, Enter on the last field submits; Esc cancels (null).
 */
export function configForm(screen: Widgets.Screen, opts: ConfigFormOptions): Promise<Record<string, string> | null> {
  return new Promise((resolve) => {
    const box = dialogBox(screen, opts.title);
    const body = bodyOf(box, '[Up/Down] field  [Space/←→] toggle or choose  [Enter] next, submit on the last  [Esc] cancel');
    const values: Record<string, string> = {};
    for (const f of opts.fields) values[f.key] = opts.values[f.key] ?? '';
    let at = 0;
    const choices = (f: PluginConfigField): string[] => {
      const list = f.type === 'boolean' ? ['yes', 'no'] : (f.options ?? []).map((o) => o.value);
      return f.required ? list : ['', ...list];
    };
    const cycle = (f: PluginConfigField, step: number): void => {
      const list = choices(f);
      const i = list.indexOf(values[f.key]);
      values[f.key] = list[(i + step + list.length) % list.length];
    };
    const draw = (): void => {
      const w = body.width();
      const lines: string[] = [];
      for (const l of opts.intro) lines.push(...wrapLine(l, w, '  '));
      if (opts.problems?.length) lines.push('', 'Not saved:', ...opts.problems.flatMap((p) => wrapLine(`! ${p}`, w, '  ')));
      lines.push('');
      let focusLine = lines.length;
      const labelWidth = Math.min(28, Math.max(...opts.fields.map((f) => displayWidth(clean(f.label)) + 2), 8));
      opts.fields.forEach((f, i) => {
        const v = values[f.key];
        let shown = f.type === 'secret' ? '*'.repeat(v.length) : v;
        if (f.type === 'secret' && !v && opts.storedSecrets?.has(f.key)) shown = '(stored; type to replace)';
        if (f.type === 'select' || f.type === 'boolean') shown = `< ${f.type === 'select' ? (f.options?.find((o) => o.value === v)?.label ?? (v || '(none)')) : v || '(none)'} >`;
        const label = `${clean(f.label)}${f.required ? '*' : ''}`;
        if (i === at) focusLine = lines.length;
        lines.push(`${i === at ? '>' : ' '} ${label.padEnd(labelWidth)} ${shown}${i === at && f.type !== 'select' && f.type !== 'boolean' ? '_' : ''}`);
        if (i === at) {
          const hint = [f.type, f.required ? 'required' : 'optional', f.pattern ? `pattern ${f.pattern}` : '', f.maxLength !== null ? `≤ ${f.maxLength} chars` : '',
            f.minimum !== null ? `≥ ${f.minimum}` : '', f.maximum !== null ? `≤ ${f.maximum}` : ''].filter(Boolean).join(', ');
          lines.push(...wrapLine(`    ${f.description ? `${clean(f.description)} ` : ''}(${clean(hint)})`, w, '    '));
        }
      });
      if (!opts.fields.length) lines.push('(this plugin has no settings) — Enter to go on');
      show(body, lines, focusLine);
      screen.render();
    };
    const close = modal(screen, box, opts.signal, () => finish(null));
    function finish(out: Record<string, string> | null): void {
      close();
      resolve(out);
    }
    box.on('keypress', (ch: string | undefined, key: Key) => {
      const f = opts.fields[at];
      if (key.name === 'escape') return finish(null);
      if (key.name === 'enter' || key.name === 'return') {
        if (key.name === 'return') return; // blessed reports Enter as both; act once
        if (!f || at === opts.fields.length - 1) return finish({ ...values });
        at++;
      } else if (key.name === 'down' || key.name === 'tab') at = Math.min(at + 1, Math.max(0, opts.fields.length - 1));
      else if (key.name === 'up' || key.full === 'S-tab') at = Math.max(at - 1, 0);
      else if (!f) return;
      else if (f.type === 'select' || f.type === 'boolean') {
        if (key.name === 'space' || key.name === 'right') cycle(f, 1);
        else if (key.name === 'left') cycle(f, -1);
        else if (f.type === 'boolean' && (ch === 'y' || ch === 'n')) values[f.key] = ch === 'y' ? 'yes' : 'no';
        else if (key.name === 'backspace' && !f.required) values[f.key] = '';
      } else if (key.name === 'backspace') values[f.key] = values[f.key].slice(0, -1);
      else if (key.ctrl && key.name === 'u') values[f.key] = '';
      else if (ch && !key.ctrl && !key.meta && !/[\u0000-\u001f\u007f]/.test(ch)) values[f.key] += ch;
      draw();
    });
    screen.on('resize', draw);
    box.on('destroy', () => screen.removeListener('resize', draw));
    draw();
  });
}

export interface ConsentOptions {
  title: string;
  /** What is installed: name, version, mode, base URL. */
  intro: string[];
  permissions: readonly PluginPermission[];
  /** Ticked at the start (the author's `default` hints). */
  initial: ReadonlySet<string>;
  /** Lines after the permissions: tools and their effects, required toolkits. */
  after: string[];
  /** The word on the Enter key (`install`, `accept`). */
  action: string;
  signal: AbortSignal;
}

/**
 * The consent screen: Up/Down move between permissions, Space ticks one, `a` ticks all, Enter
 * accepts when every permission is ticked (the server wants all of them; otherwise the dialog says
 * which are missing), Esc cancels. Resolves with the accepted keys, or null.
 */
export function consentDialog(screen: Widgets.Screen, opts: ConsentOptions): Promise<string[] | null> {
  return new Promise((resolve) => {
    const box = dialogBox(screen, opts.title);
    const body = bodyOf(box, `[Space] tick  [a] tick all  [Enter] ${opts.action}  [PgUp/PgDn] scroll  [Esc] cancel`);
    const ticked = new Set(opts.initial);
    let at = 0;
    let scrollExtra = 0;
    const draw = (): void => {
      const w = body.width();
      const lines: string[] = [];
      for (const l of opts.intro) lines.push(...wrapLine(l, w, '  '));
      lines.push('', opts.permissions.length ? 'This plugin asks for these permissions; tick each one you accept:' : 'This plugin asks for no permissions.');
      let focusLine = lines.length;
      opts.permissions.forEach((p, i) => {
        if (i === at) focusLine = lines.length;
        lines.push(...wrapLine(`${i === at ? '>' : ' '} ${consentLine(p, ticked.has(p.key))}`, w, '      '));
      });
      lines.push('');
      for (const l of opts.after) lines.push(...wrapLine(l, w, '    '));
      show(body, lines, Math.max(0, Math.min(lines.length - 1, focusLine + scrollExtra)));
      screen.render();
    };
    const close = modal(screen, box, opts.signal, () => finish(null));
    function finish(out: string[] | null): void {
      close();
      resolve(out);
    }
    box.on('keypress', (ch: string | undefined, key: Key) => {
      const p = opts.permissions[at];
      if (key.name === 'escape') return finish(null);
      if (key.name === 'return') return;
      if (key.name === 'enter') {
        const problem = consentProblem(opts.permissions, ticked);
        if (!problem) return finish(opts.permissions.filter((x) => ticked.has(x.key)).map((x) => x.key));
        body.message.setContent(problem);
      } else if (key.name === 'down') {
        at = Math.min(at + 1, Math.max(0, opts.permissions.length - 1));
        scrollExtra = 0;
      } else if (key.name === 'up') {
        at = Math.max(at - 1, 0);
        scrollExtra = 0;
      } else if (key.name === 'pagedown') scrollExtra += body.height() - 1;
      else if (key.name === 'pageup') scrollExtra = Math.max(scrollExtra - (body.height() - 1), -body.height());
      else if (key.name === 'space' && p) {
        if (ticked.has(p.key)) ticked.delete(p.key);
        else ticked.add(p.key);
        body.message.setContent('');
      } else if (ch === 'a') {
        for (const x of opts.permissions) ticked.add(x.key);
        body.message.setContent('');
      }
      draw();
    });
    screen.on('resize', draw);
    box.on('destroy', () => screen.removeListener('resize', draw));
    draw();
  });
}

/** A read-only list of lines (every problem of a refused manifest): arrows and PgUp/PgDn scroll, Enter or Esc close. */
export function textViewer(screen: Widgets.Screen, title: string, lines: readonly string[], signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const box = dialogBox(screen, title);
    const body = bodyOf(box, '[Up/Down/PgUp/PgDn] scroll  [Enter/Esc] close');
    let top = 0;
    const draw = (): void => {
      const w = body.width();
      const all = lines.flatMap((l) => wrapLine(l, w, '    '));
      top = Math.max(0, Math.min(top, all.length - body.height()));
      body.text.setContent(all.join('\n'));
      body.text.scrollTo(0);
      body.text.setScroll(top);
      screen.render();
    };
    const close = modal(screen, box, signal, () => finish());
    function finish(): void {
      close();
      resolve();
    }
    box.on('keypress', (_ch: string | undefined, key: Key) => {
      if (key.name === 'escape' || key.name === 'enter' || key.name === 'q') return finish();
      if (key.name === 'down') top++;
      else if (key.name === 'up') top--;
      else if (key.name === 'pagedown') top += body.height() - 1;
      else if (key.name === 'pageup') top -= body.height() - 1;
      else return;
      draw();
    });
    screen.on('resize', draw);
    box.on('destroy', () => screen.removeListener('resize', draw));
    draw();
  });
}
