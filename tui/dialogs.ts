/**
 * Modal dialogs on the injected screen: confirm (y/n), alert (the one-time key secret), a small
 * form of text fields, and a pick list (switching organisation). While one is open `open` is true
 * and the app ignores its global keys and tab clicks. Modals built elsewhere (tui/plugin-dialogs.ts)
 * register with `holdModal` so they count as open too. Dialogs only gather answers: they must never
 * call the API.
 */
import blessed from 'blessed';
import type { Widgets } from 'blessed';

export interface FormField<K extends string = string> {
  name: K;
  label: string;
  value?: string;
  /** Shown as `*` while typed (tokens). */
  secret?: boolean;
  /** A choice instead of free text: Space / Left / Right cycle through these (value: one of them). */
  choices?: readonly string[];
}

export interface Dialogs {
  /** True while a dialog of this file, a modal registered with `holdModal`, or anything holding the keys (`screen.grabKeys`) is open. */
  readonly open: boolean;
  confirm(question: string): Promise<boolean>;
  alert(title: string, text: string): Promise<void>;
  /** Enter moves to the next field (and submits after the last), Esc cancels (null). */
  form<K extends string>(title: string, fields: Array<FormField<K>>, opts?: { error?: string }): Promise<Record<K, string> | null>;
  pick<T>(title: string, items: Array<{ label: string; value: T }>): Promise<T | null>;
  /** Closes every open dialog as cancelled (quit, organisation switch). */
  closeAll(): void;
}

/** Modals built outside this file, per screen (a custom modal knows only its screen, not the app's Dialogs). */
const customModals = new WeakMap<object, Set<() => void>>();

/**
 * Registers a modal built outside this file as open on `screen`: the app then ignores its global
 * keys and tab clicks (a mouse click reaches the tab bar even while keys are grabbed), and
 * `closeAll` (quit, organisation switch) calls `cancel`. The returned release must be called when
 * the modal closes (more than once is harmless).
 */
export function holdModal(screen: Widgets.Screen, cancel: () => void, el?: Widgets.BlessedElement): () => void {
  const held = customModals.get(screen) ?? new Set<() => void>();
  customModals.set(screen, held);
  const entry = (): void => cancel();
  held.add(entry);
  const unstack = el ? stackModal(screen, el) : () => undefined;
  return () => {
    held.delete(entry);
    unstack();
  };
}

/** Per screen: the elements of the open modals, newest last (a click outside gives the focus back to the newest). */
const modalStacks = new WeakMap<object, Widgets.BlessedElement[]>();

function stackModal(screen: Widgets.Screen, el: Widgets.BlessedElement): () => void {
  const stack = modalStacks.get(screen) ?? [];
  modalStacks.set(screen, stack);
  stack.push(el);
  return () => {
    const at = stack.lastIndexOf(el);
    if (at !== -1) stack.splice(at, 1);
  };
}

const inside = (el: Widgets.Node | undefined, modal: Widgets.BlessedElement): boolean => {
  for (let n = el; n; n = n.parent) if (n === modal) return true;
  return false;
};

const BORDER = { type: 'line' } as const;
const STYLE = { border: { fg: 'cyan' }, label: { bold: true } };

export function createDialogs(screen: Widgets.Screen): Dialogs {
  const closers = new Set<() => void>();
  // blessed focuses a clickable element on a click (the log pane, a list under the dialog): the keys
  // would leave the open modal, and a dialog without the focus cannot even be closed with Esc.
  screen.on?.('element click', (clicked: Widgets.BlessedElement) => {
    const top = modalStacks.get(screen)?.at(-1);
    if (!top || inside(clicked, top)) return;
    top.focus();
    screen.render();
  });

  /** Opens `el` modally; `finish` destroys it, restores focus and runs `after` on the next tick (so the key that closed it goes nowhere). */
  function modal(el: Widgets.BoxElement, cancel: () => void): (after: () => void) => void {
    closers.add(cancel);
    const unstack = stackModal(screen, el);
    screen.saveFocus();
    el.focus();
    el.setFront();
    screen.render();
    let done = false;
    return (after) => {
      if (done) return;
      done = true;
      closers.delete(cancel);
      unstack();
      el.destroy();
      screen.restoreFocus();
      screen.render();
      setImmediate(after);
    };
  }

  function box(title: string, height: number | string, content = ''): Widgets.BoxElement {
    return blessed.box({
      parent: screen, top: 'center', left: 'center', width: '80%', height, border: BORDER, label: ` ${title} `,
      content, tags: false, padding: { left: 1, right: 1 }, style: STYLE, keys: true,
    });
  }

  return {
    get open() {
      return closers.size > 0 || (customModals.get(screen)?.size ?? 0) > 0 || !!screen.grabKeys;
    },

    confirm(question) {
      return new Promise((resolve) => {
        const el = box('Confirm', 7, `${question}\n\n[y] yes    [n] no`);
        const finish = modal(el, () => finish(() => resolve(false)));
        el.key(['y'], () => finish(() => resolve(true)));
        el.key(['n', 'escape', 'q'], () => finish(() => resolve(false)));
      });
    },

    alert(title, text) {
      return new Promise((resolve) => {
        const lines = text.split('\n').length;
        const el = box(title, Math.min(lines + 4, 30), `${text}\n\n[Enter] close`);
        const finish = modal(el, () => finish(resolve));
        el.key(['enter', 'escape', 'space', 'q'], () => finish(resolve));
      });
    },

    form<K extends string>(title: string, fields: Array<FormField<K>>, opts: { error?: string } = {}) {
      return new Promise<Record<K, string> | null>((resolve) => {
        // Editing is done here, synchronously per key, not with blessed textboxes: their readInput hands over
        // between fields a tick late, so keys typed quickly after Enter (or pasted) would be lost.
        // Rows: 2 per field (1 when the screen is short), the key hint, an error line, the border.
        const step = (screen.height as number) < fields.length * 2 + 6 ? 1 : 2;
        const el = box(title, fields.length * step + 4 + (opts.error ? 1 : 0));
        const values = fields.map((f) => f.value ?? f.choices?.[0] ?? '');
        const rows = fields.map((f, i) => blessed.text({ parent: el, top: i * step, left: 0, right: 0, height: 1, tags: false, content: f.label }));
        blessed.text({ parent: el, top: fields.length * step, left: 0, height: 1, content: '[Enter] next / submit   [Up] back   [Esc] cancel', style: { fg: 'gray' } });
        if (opts.error) blessed.text({ parent: el, top: fields.length * step + 1, left: 0, right: 0, height: 1, tags: false, content: opts.error.replace(/[\u0000-\u001f\u007f-\u009f]/g, ' '), style: { fg: 'red', bold: true } });
        let at = 0;
        const draw = (): void => {
          fields.forEach((f, i) => {
            const shown = f.choices ? `‹ ${values[i]} ›${i === at ? '  (space/←/→ change)' : ''}` : f.secret ? '*'.repeat(values[i].length) : values[i];
            // The end of a long value stays visible (a URL being typed), cut from the left.
            const room = Math.max(8, (el.width as number) - 26);
            const tail = shown.length > room ? `…${shown.slice(-(room - 1))}` : shown;
            rows[i].setContent(`${i === at ? '>' : ' '} ${`${f.label}:`.padEnd(18)}${tail}${i === at ? '_' : ''}`);
            rows[i].style.bold = i === at;
          });
          screen.render();
        };
        const finish = modal(el, () => finish(() => resolve(null)));
        el.on('keypress', (ch: string | undefined, key: { name?: string; ctrl?: boolean; meta?: boolean; full?: string }) => {
          if (key.name === 'escape') return finish(() => resolve(null));
          if (key.name === 'enter' || key.name === 'tab' || key.name === 'down') {
            if (at === fields.length - 1 && key.name === 'enter') {
              const out = {} as Record<K, string>;
              fields.forEach((f, i) => (out[f.name] = values[i]));
              return finish(() => resolve(out));
            }
            at = Math.min(at + 1, fields.length - 1);
          } else if (key.name === 'up' || key.full === 'S-tab') at = Math.max(at - 1, 0);
          else if (fields[at].choices) {
            const c = fields[at].choices!;
            const step = key.name === 'left' ? -1 : key.name === 'right' || key.name === 'space' ? 1 : 0;
            if (step) values[at] = c[(c.indexOf(values[at]) + step + c.length) % c.length];
          }
          else if (key.name === 'backspace') values[at] = values[at].slice(0, -1);
          else if (key.ctrl && key.name === 'u') values[at] = '';
          else if (ch && !key.ctrl && !key.meta && key.name !== 'return' && key.name !== 'linefeed' && !/[\u0000-\u001f\u007f]/.test(ch)) values[at] += ch;
          draw();
        });
        draw();
      });
    },

    pick<T>(title: string, items: Array<{ label: string; value: T }>) {
      return new Promise<T | null>((resolve) => {
        const el = blessed.list({
          parent: screen, top: 'center', left: 'center', width: '60%', height: Math.min(items.length + 2, 20), border: BORDER, label: ` ${title} `,
          items: items.map((i) => i.label), keys: true, tags: false, style: { border: { fg: 'cyan' }, selected: { inverse: true } } as Widgets.ListElementStyle,
        });
        const finish = modal(el, () => finish(() => resolve(null)));
        el.on('select', (_item: unknown, index: number) => finish(() => resolve(items[index]?.value ?? null)));
        el.key(['escape', 'q'], () => finish(() => resolve(null)));
      });
    },

    closeAll() {
      for (const close of [...closers, ...(customModals.get(screen) ?? [])]) close();
    },
  };
}
