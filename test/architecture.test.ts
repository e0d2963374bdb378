/**
 * Boundaries enforced by a test, not by review: the import rules of house style and
 * ../shared/design/architecture.md ("Layers and direction of imports").
 *
 *   http → {gateway, control, channels} → toolkits → plugins → {net, storage, usage, jobs}
 *
 * Each rule is a function over a map of file → imports, so the same checks run against the real
 * tree and against a small made-up tree with one deliberately wrong import (the last tests), which
 * shows that every rule can fail.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..');

function files(dir: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
    const rel = path.posix.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...files(rel));
    else if (entry.name.endsWith('.ts')) out.push(rel);
  }
  return out;
}

function importsOf(text: string): string[] {
  const specs: string[] = [];
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s+['"]([^'"]+)['"]/g)) specs.push(m[1]);
  for (const m of text.matchAll(/import\(\s*['"]([^'"]+)['"]\s*\)/g)) specs.push(m[1]);
  for (const m of text.matchAll(/(?:^|\n)\s*import\s+['"]([^'"]+)['"]/g)) specs.push(m[1]);
  return specs;
}

type Tree = Map<string, string[]>;

function readTree(dir: string): Tree {
  return new Map(files(dir).map((f) => [f, importsOf(fs.readFileSync(path.join(ROOT, f), 'utf8'))]));
}

/** The layer a src file belongs to: its first folder under src/, or `top` for src/*.ts and src/cli/. */
function layer(file: string): string {
  const parts = file.split('/');
  if (parts[0] !== 'src') return parts[0];
  if (parts.length === 2 || parts[1] === 'cli') return 'top';
  return parts[1];
}

const resolveRel = (from: string, spec: string): string => path.posix.normalize(path.posix.join(path.posix.dirname(from), spec));

/** Wire types every layer may use (types only: shared/ imports nothing). */
const isSharedTypes = (target: string): boolean => /^src\/shared\/api[\w-]*\.ts$/.test(target);
/** Leaf modules every layer may use. */
const LEAVES = new Set(['src/errors.ts', 'src/log.ts', 'src/config.ts']);

/** Allowed imports per layer, beyond itself, the leaves and the shared wire types. `top` (app.ts, main.ts, cli/) may use anything. */
export const LAYERS: Record<string, readonly string[]> = {
  shared: [],
  net: [],
  storage: [],
  usage: ['storage'],
  jobs: ['storage'],
  plugins: ['net', 'storage', 'usage'],
  toolkits: ['plugins', 'net', 'storage', 'usage', 'jobs'],
  gateway: ['plugins', 'net', 'storage', 'usage'],
  channels: ['toolkits', 'gateway', 'plugins', 'net', 'storage', 'usage', 'jobs'],
  control: ['toolkits', 'plugins', 'net', 'storage', 'usage', 'jobs'],
  http: ['gateway', 'control', 'channels', 'toolkits', 'plugins', 'net', 'storage', 'usage', 'jobs'],
};

function layerViolations(tree: Tree): string[] {
  const out: string[] = [];
  for (const [f, specs] of tree) {
    const from = layer(f);
    if (from === 'top' || from === 'tui') continue;
    const allowed = LAYERS[from];
    if (!allowed) {
      out.push(`${f}: src/${from}/ is not a known layer (add it to LAYERS with its allowed imports)`);
      continue;
    }
    for (const spec of specs) {
      if (!spec.startsWith('.')) continue;
      const target = resolveRel(f, spec);
      const to = layer(target);
      if (to === from || LEAVES.has(target) || isSharedTypes(target)) continue;
      if (!allowed.includes(to)) out.push(`${f} (${from}) imports ${target} (${to})`);
    }
  }
  return out;
}

/** Which files import an external package (or its subpaths). */
function ownersOf(tree: Tree, pkg: string): string[] {
  const out = new Set<string>();
  for (const [f, specs] of tree) for (const s of specs) if (s === pkg || s.startsWith(`${pkg}/`)) out.add(f);
  return [...out].sort();
}

/** Every import cycle among relative imports (each reported once, by its smallest member first). */
function cycles(tree: Tree): string[][] {
  const graph = new Map<string, string[]>();
  for (const [f, specs] of tree) graph.set(f, specs.filter((s) => s.startsWith('.')).map((s) => resolveRel(f, s)).filter((t) => tree.has(t)));
  const found = new Map<string, string[]>();
  const state = new Map<string, 1 | 2>();
  const stack: string[] = [];
  const visit = (n: string): void => {
    state.set(n, 1);
    stack.push(n);
    for (const m of graph.get(n) ?? []) {
      if (state.get(m) === 1) {
        const cyc = stack.slice(stack.indexOf(m));
        const start = cyc.indexOf([...cyc].sort()[0]);
        const canon = [...cyc.slice(start), ...cyc.slice(0, start)];
        found.set(canon.join(' → '), canon);
      } else if (!state.has(m)) visit(m);
    }
    stack.pop();
    state.set(n, 2);
  };
  for (const n of graph.keys()) if (!state.has(n)) visit(n);
  return [...found.values()];
}

/** External SDKs and the exact files allowed to import them (one small module per external service). */
export const SDK_OWNERS: Record<string, readonly string[]> = {
  openai: ['src/gateway/upstream.ts'],
  '@modelcontextprotocol/sdk': ['src/plugins/kinds/mcp/client.ts', 'src/plugins/kinds/mcp/http-transport.ts'],
  twilio: ['src/toolkits/whatsapp/twilio.ts'],
  stripe: ['src/toolkits/payments/providers/stripe.ts'],
  // The pooled upstream client; the SSRF-guarded agent and request function every outbound caller uses;
  // the MCP Streamable HTTP transport, which runs on the guard's request function (undici's types and errors).
  undici: ['src/gateway/upstream-pool.ts', 'src/net/ssrf.ts', 'src/plugins/kinds/mcp/http-transport.ts'],
  'better-sqlite3': ['src/storage/db.ts'],
  // Operations (issue 13, ops): the metrics registry.
  'prom-client': ['src/usage/metrics.ts'],
  koa: [],
  '@koa/router': [],
  blessed: [],
};

function sdkViolations(tree: Tree): string[] {
  const out: string[] = [];
  for (const [pkg, owners] of Object.entries(SDK_OWNERS)) {
    const actual = ownersOf(tree, pkg).filter((f) => !(pkg.includes('koa') && f.startsWith('src/http/')));
    const want = [...owners].sort();
    if (JSON.stringify(actual) !== JSON.stringify(want)) out.push(`${pkg} is imported by [${actual.join(', ')}], expected [${want.join(', ')}]`);
  }
  return out;
}

const SRC = readTree('src');

test('each external SDK is imported by exactly its owner files (twilio, stripe, openai, MCP, undici, SQLite); Koa only in src/http; blessed only in tui/', () => {
  assert.deepEqual(sdkViolations(SRC), []);
  assert.equal(ownersOf(SRC, 'twilio').length, 1);
});

test('lower layers never import upper ones (http → gateway/control/channels → toolkits → plugins → net/storage/usage/jobs)', () => {
  assert.deepEqual(layerViolations(SRC), []);
});

test('channels are built after the completion and toolkits before the runtime: nothing but http and the composition root imports channels', () => {
  for (const [f, specs] of SRC) {
    for (const spec of specs) {
      if (!spec.startsWith('.')) continue;
      if (layer(resolveRel(f, spec)) === 'channels') assert.ok(['channels', 'http', 'top'].includes(layer(f)), `${f} imports ${spec}`);
    }
  }
});

test('no import cycles in src/', () => {
  assert.deepEqual(cycles(SRC).map((c) => c.join(' → ')), []);
});

test('tui/ talks to the server over HTTP only: it imports nothing from src/ but the shared wire types', () => {
  for (const [f, specs] of readTree('tui')) {
    for (const spec of specs) {
      if (!spec.startsWith('.')) continue;
      const target = resolveRel(f, spec);
      assert.ok(target.startsWith('tui/') || isSharedTypes(target), `${f} imports ${target}`);
    }
  }
});

test('shared/ holds wire types only: no runtime imports', () => {
  for (const [f, specs] of SRC) {
    if (layer(f) !== 'shared') continue;
    const text = fs.readFileSync(path.join(ROOT, f), 'utf8');
    for (const spec of specs) assert.ok(isSharedTypes(resolveRel(f, spec)), `${f} imports ${spec}`);
    assert.doesNotMatch(text, /^\s*export\s+(?:const|function|class|let|var)\b/m, `${f} exports runtime code`);
  }
});

test('no code reads process.env except config.ts and the CLI entry', () => {
  const readers = [...SRC.keys()].filter((f) => /process\.env\b/.test(fs.readFileSync(path.join(ROOT, f), 'utf8')));
  assert.deepEqual(readers.filter((f) => f !== 'src/config.ts' && f !== 'src/main.ts'), []);
});

// The rules themselves: a made-up tree with one deliberately wrong import each must fail them.
test('the checks fail on a deliberately wrong import: an upward import, a second Twilio owner, a cycle, a channel imported by a toolkit', () => {
  const bad: Tree = new Map([
    ['src/storage/repos/x.ts', ['../../gateway/chat.ts']],
    ['src/gateway/chat.ts', ['../plugins/runtime.ts']],
    ['src/plugins/runtime.ts', ['./types.ts']],
    ['src/plugins/types.ts', ['./runtime.ts']],
    ['src/toolkits/payments/index.ts', ['twilio', '../../channels/whatsapp/index.ts']],
  ]);
  const violations = layerViolations(bad);
  assert.ok(violations.includes('src/storage/repos/x.ts (storage) imports src/gateway/chat.ts (gateway)'), violations.join('\n'));
  assert.ok(violations.includes('src/toolkits/payments/index.ts (toolkits) imports src/channels/whatsapp/index.ts (channels)'), violations.join('\n'));
  assert.ok(sdkViolations(new Map([...SRC, ...bad])).some((v) => v.startsWith('twilio is imported by')));
  assert.deepEqual(cycles(bad).map((c) => c.join(' → ')), ['src/plugins/runtime.ts → src/plugins/types.ts']);
  assert.deepEqual(layerViolations(new Map([['src/newlayer/a.ts', []]])), ['src/newlayer/a.ts: src/newlayer/ is not a known layer (add it to LAYERS with its allowed imports)']);
});
