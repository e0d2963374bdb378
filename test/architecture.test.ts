/**
 * Boundaries enforced by a test, not by review: the import rules of house style.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..');

function files(dir: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
    const rel = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...files(rel));
    else if (entry.name.endsWith('.ts')) out.push(rel);
  }
  return out;
}

function imports(file: string): string[] {
  const text = fs.readFileSync(path.join(ROOT, file), 'utf8');
  const specs: string[] = [];
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s+['"]([^'"]+)['"]/g)) specs.push(m[1]);
  for (const m of text.matchAll(/import\(\s*['"]([^'"]+)['"]\s*\)/g)) specs.push(m[1]);
  for (const m of text.matchAll(/(?:^|\n)\s*import\s+['"]([^'"]+)['"]/g)) specs.push(m[1]);
  return specs;
}

/** The layer a src file belongs to (its first folder under src/, or the file itself). */
function layer(file: string): string {
  const parts = file.split(path.sep);
  return parts[0] === 'src' && parts.length > 2 ? parts[1] : parts.slice(0, 2).join('/');
}

function resolveRel(from: string, spec: string): string {
  return path.normalize(path.join(path.dirname(from), spec));
}

const SRC = files('src');

test('each external SDK is imported in exactly one src file', () => {
  const owners: Record<string, string[]> = { openai: [], twilio: [], '@modelcontextprotocol/sdk': [], blessed: [] };
  for (const f of SRC) {
    for (const spec of imports(f)) {
      for (const sdk of Object.keys(owners)) if (spec === sdk || spec.startsWith(`${sdk}/`)) owners[sdk].push(f);
    }
  }
  assert.deepEqual([...new Set(owners.openai)], ['src/gateway/upstream.ts']);
  assert.deepEqual([...new Set(owners['@modelcontextprotocol/sdk'])].sort(), ['src/plugins/kinds/mcp/client.ts', 'src/plugins/kinds/mcp/http-transport.ts']);
  assert.ok([...new Set(owners.twilio)].length <= 1, `twilio imported in ${owners.twilio.join(', ')}`);
  assert.deepEqual(owners.blessed, [], 'blessed belongs to tui/');
});

test('only src/http sees Koa', () => {
  for (const f of SRC) {
    if (f.startsWith(`src${path.sep}http${path.sep}`)) continue;
    for (const spec of imports(f)) assert.ok(spec !== 'koa' && spec !== '@koa/router', `${f} imports ${spec}`);
  }
});

test('lower layers never import upper ones', () => {
  // Allowed imports per layer (beyond itself, errors.ts, log.ts, config types and shared/api.ts's wire types).
  const allowed: Record<string, string[]> = {
    net: [],
    storage: [],
    usage: ['storage'],
    jobs: ['storage'],
    plugins: ['net', 'storage', 'usage'],
    gateway: ['net', 'plugins', 'storage', 'usage'],
    channels: ['plugins', 'storage', 'usage', 'jobs', 'gateway', 'toolkits'],
    control: ['storage', 'plugins', 'usage'],
    shared: [],
  };
  for (const f of SRC) {
    const from = layer(f);
    if (!(from in allowed)) continue;
    for (const spec of imports(f)) {
      if (!spec.startsWith('.')) continue;
      const target = resolveRel(f, spec);
      const to = layer(target);
      if (to === from || to === 'src/errors.ts' || to === 'src/log.ts' || to === 'src/config.ts' || target === path.join('src', 'shared', 'api.ts')) continue;
      assert.ok(allowed[from].includes(to), `${f} (${from}) imports ${target} (${to})`);
    }
  }
});

test('tui/ talks to the server over HTTP only: it imports nothing from src/ but shared/api.ts', () => {
  if (!fs.existsSync(path.join(ROOT, 'tui'))) return;
  for (const f of files('tui')) {
    for (const spec of imports(f)) {
      if (!spec.startsWith('.')) continue;
      const target = resolveRel(f, spec);
      assert.ok(target.startsWith(`tui${path.sep}`) || target === path.join('src', 'shared', 'api.ts'), `${f} imports ${target}`);
    }
  }
});

test('no code reads process.env except config.ts and the CLI entry', () => {
  const readers = SRC.filter((f) => /process\.env\b/.test(fs.readFileSync(path.join(ROOT, f), 'utf8')));
  assert.deepEqual(readers.filter((f) => f !== path.join('src', 'config.ts') && f !== path.join('src', 'main.ts')), []);
});
