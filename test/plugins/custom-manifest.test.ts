/**
 * Custom plugin manifests: the published schema plus the semantic checks, as one validator that
 * reports every problem at once with JSON Pointer paths and never throws; the tool-definition
 * hash and the upgrade (re-consent) diff.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  MAX_CONFIG_FIELDS, MAX_MANIFEST_BYTES, MAX_PERMISSIONS, MAX_PROBLEMS, MAX_SLUG_LENGTH, MAX_TOOL_TIMEOUT_MS, MAX_TOOLS, MIN_SLUG_LENGTH,
  canonicalJson, diffManifests, manifestJsonSchema, toolDefinitionHash, validateManifest, validateManifestText, type ManifestValidation, type PluginManifest,
} from '../../src/plugins/kinds/custom/manifest.ts';
import { DEFECTS, type Manifest } from './custom-manifest-defects.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const EXAMPLE_FILE = path.join(ROOT, 'examples/delivery-plugin/plugboard-plugin.json');
const example = (): Manifest => JSON.parse(fs.readFileSync(EXAMPLE_FILE, 'utf8')) as Manifest;

function problemsOf(r: ManifestValidation): Array<{ path: string; message: string }> {
  assert.equal(r.ok, false, 'expected the manifest to be refused');
  return r.ok ? [] : r.problems;
}
const pathsOf = (r: ManifestValidation) => [...new Set(problemsOf(r).map((p) => p.path))].sort();

describe('custom plugin manifest: the example and the schema file', () => {
  it('the example manifest of examples/delivery-plugin passes, with the schema\'s defaults applied', () => {
    const r = validateManifestText(fs.readFileSync(EXAMPLE_FILE));
    assert.ok(r.ok, r.ok ? '' : JSON.stringify(r.problems, null, 2));
    const m: PluginManifest = r.manifest;
    assert.equal(m.slug, 'acme-delivery');
    assert.deepEqual(m.tools.map((t) => [t.name, t.effect, t.confirmation, t.idempotent]), [['lookup_delivery', 'read', 'none', true], ['create_delivery_job', 'write', 'none', true]]);
    assert.equal(m.permissions[1].default, false, 'default: false filled in');
    assert.equal(m.config[3].required, false, 'required: false filled in');
    assert.deepEqual(m.requires?.toolkits?.[0].any, ['payments', 'ecommerce']);
  });

  it('the schema is JSON Schema 2020-12 with an $id, and refuses unknown fields at every level', () => {
    const schema = manifestJsonSchema();
    assert.equal(schema.$schema, 'https://json-schema.org/draft/2020-12/schema');
    assert.match(String(schema.$id), /plugboard-plugin/);
    let objects = 0;
    const stack: unknown[] = [schema];
    while (stack.length > 0) {
      const node = stack.pop();
      if (node === null || typeof node !== 'object') continue;
      const rec = node as Record<string, unknown>;
      // `if`/`then` blocks only constrain fields their object already lists.
      if (rec.properties && typeof rec.properties === 'object' && !Object.values(rec.properties).some((v) => v === false)) {
        objects++;
        assert.equal(rec.additionalProperties, false, `an object schema without additionalProperties:false: ${JSON.stringify(Object.keys(rec.properties))}`);
      }
      for (const [k, v] of Object.entries(rec)) if (k !== 'if' && k !== 'then') stack.push(v);
    }
    assert.ok(objects >= 10, `only ${objects} object schemas seen`);
  });

  it('the exported limits are the schema file\'s', () => {
    const s = manifestJsonSchema() as { properties: Record<string, Record<string, unknown>>; $defs: Record<string, { properties: Record<string, Record<string, unknown>> }> };
    assert.equal(s.properties.tools.maxItems, MAX_TOOLS);
    assert.equal(s.properties.permissions.maxItems, MAX_PERMISSIONS);
    assert.equal(s.properties.config.maxItems, MAX_CONFIG_FIELDS);
    assert.equal(s.properties.slug.minLength, MIN_SLUG_LENGTH);
    assert.equal(s.properties.slug.maxLength, MAX_SLUG_LENGTH);
    assert.equal(s.$defs.tool.properties.timeoutMs.maximum, MAX_TOOL_TIMEOUT_MS);
  });
});

describe('custom plugin manifest: defects, each reported at its JSON Pointer', () => {
  it(`the table holds at least 40 distinct defects (${DEFECTS.length})`, () => {
    assert.ok(DEFECTS.length >= 40);
    assert.equal(new Set(DEFECTS.map((d) => d.name)).size, DEFECTS.length, 'row names are unique');
  });

  for (const row of DEFECTS) {
    it(row.name, () => {
      const m = example();
      const replaced = row.mutate(m);
      const r = validateManifest(replaced === undefined ? m : replaced, row.opts);
      const problems = problemsOf(r);
      assert.deepEqual(pathsOf(r), [...row.paths].sort(), JSON.stringify(problems, null, 2));
      for (const p of problems) assert.ok(p.message.length > 3, `empty message at ${p.path}`);
      if (row.message) assert.ok(problems.some((p) => row.message?.test(p.message)), `no message matches ${row.message}: ${JSON.stringify(problems)}`);
    });
  }

  it('a manifest with many defects reports all of them at once', () => {
    const m = example();
    const picked = DEFECTS.filter((d) => !d.alone);
    const expected = new Set<string>();
    // Rows touch different places; apply every one that does not replace the whole manifest.
    const seen = new Set<string>();
    for (const d of picked) {
      const key = d.paths.join('|');
      if (seen.has(key)) continue;
      const probe = example();
      if (d.mutate(probe) !== undefined) continue;
      seen.add(key);
      d.mutate(m);
      for (const p of d.paths) expected.add(p);
    }
    assert.ok(expected.size >= 25, `only ${expected.size} defects combined`);
    const paths = new Set(pathsOf(validateManifest(m)));
    const missing = [...expected].filter((p) => !paths.has(p));
    assert.deepEqual(missing, [], 'every defect is reported in the one answer');
  });

  it('a very long problem list is capped, saying how many more there are', () => {
    const m = example();
    for (let i = 0; i < 300; i++) m[`unknown_${i}`] = i;
    const problems = problemsOf(validateManifest(m));
    assert.equal(problems.length, MAX_PROBLEMS + 1);
    assert.match(problems[MAX_PROBLEMS].message, /^and 100 more problems/);
  });
});

describe('custom plugin manifest: hostile input never throws', () => {
  const cases: Array<[string, () => unknown, string]> = [
    ['a cycle', () => { const m = example(); (m.tools as Manifest[])[0].inputSchema = m; return m; }, '/tools/0/inputSchema'],
    ['nesting a million levels deep', () => { let v: unknown = {}; for (let i = 0; i < 1_000_000; i++) v = { a: v }; return v; }, '/a'.repeat(32)],
    ['a 10 MB string', () => ({ ...example(), description: 'x'.repeat(10 * 1024 * 1024) }), ''],
    ['an array of length 10^9 (sparse)', () => ({ ...example(), tools: new Array(1e9) }), ''],
    ['a getter that throws', () => Object.defineProperty(example(), 'name', { enumerable: true, get() { throw new Error('boom'); } }), ''],
    ['a proxy whose ownKeys throws', () => new Proxy({}, { ownKeys() { throw new Error('boom'); } }), ''],
    ['a BigInt', () => ({ ...example(), schemaVersion: 1n }), '/schemaVersion'],
    ['NaN', () => ({ ...example(), schemaVersion: Number.NaN }), '/schemaVersion'],
    ['a function', () => ({ ...example(), name: () => 'x' }), '/name'],
    ['undefined', () => ({ ...example(), name: undefined }), '/name'],
    ['a Date', () => ({ ...example(), version: new Date(0) }), '/version'],
    ['a Map', () => new Map([['slug', 'x']]), ''],
    ['a symbol', () => ({ ...example(), slug: Symbol('s') }), '/slug'],
    ['a string', () => 'plugboard-plugin.json', ''],
    ['null', () => null, ''],
  ];
  for (const [name, make, at] of cases) {
    it(`${name} → refused at "${at}"`, () => {
      const input = make();
      const started = performance.now();
      let r: ManifestValidation | undefined;
      assert.doesNotThrow(() => { r = validateManifest(input); });
      assert.ok(performance.now() - started < 2000, 'answered quickly');
      assert.ok(r && problemsOf(r).some((p) => p.path === at), JSON.stringify(r && !r.ok ? r.problems.slice(0, 5) : r));
    });
  }

  it('one object used twice (no cycle) is fine', () => {
    const m = example();
    const tools = m.tools as Manifest[];
    const shared = { type: 'object', properties: {} };
    tools[0].outputSchema = shared;
    tools[1].outputSchema = shared;
    assert.equal(validateManifest(m).ok, true);
  });

  it('text input: size first, then UTF-8, then JSON; a BOM is fine', () => {
    const text = fs.readFileSync(EXAMPLE_FILE, 'utf8');
    assert.equal(validateManifestText(`\uFEFF${text}`).ok, true);
    assert.match(problemsOf(validateManifestText('{"slug": ')).at(0)?.message ?? '', /not valid JSON/);
    assert.match(problemsOf(validateManifestText(new Uint8Array([0x7b, 0xff, 0x7d]))).at(0)?.message ?? '', /UTF-8/);
    const big = problemsOf(validateManifestText(' '.repeat(MAX_MANIFEST_BYTES + 1)));
    assert.deepEqual(big.map((p) => p.path), ['']);
    assert.match(big[0].message, /at most 65536/);
  });
});

describe('custom plugin manifest: http base URLs', () => {
  const local = () => ({ ...example(), baseUrl: 'http://127.0.0.1:8787' });

  it('http is refused unless the injected policy allows that URL; the policy sees the parsed URL', () => {
    assert.deepEqual(pathsOf(validateManifest(local())), ['/baseUrl']);
    const seen: string[] = [];
    const allowLoopback = (url: URL) => {
      seen.push(url.hostname);
      return url.hostname === '127.0.0.1';
    };
    assert.equal(validateManifest(local(), { allowHttpUrl: allowLoopback }).ok, true);
    assert.deepEqual(seen, ['127.0.0.1']);
    assert.deepEqual(pathsOf(validateManifest({ ...example(), baseUrl: 'http://10.0.0.5' }, { allowHttpUrl: allowLoopback })), ['/baseUrl']);
  });

  it('a policy that throws counts as "no"; https never asks the policy', () => {
    assert.deepEqual(pathsOf(validateManifest(local(), { allowHttpUrl: () => { throw new Error('policy down'); } })), ['/baseUrl']);
    let asked = false;
    assert.equal(validateManifest(example(), { allowHttpUrl: () => (asked = true) }).ok, true);
    assert.equal(asked, false);
  });
});

describe('custom plugin manifest: tool definition hash and the upgrade rule', () => {
  const valid = (mutate: (m: Manifest) => void = () => {}): PluginManifest => {
    const m = example();
    mutate(m);
    const r = validateManifest(m);
    assert.ok(r.ok, r.ok ? '' : JSON.stringify(r.problems));
    return r.manifest;
  };

  it('canonical JSON sorts keys at every level and keeps array order', () => {
    assert.equal(canonicalJson({ b: [2, { d: 1, c: 0 }], a: 'x' }), '{"a":"x","b":[2,{"c":0,"d":1}]}');
  });

  it('the hash is stable across key order, defaults and permission order, and ignores idempotent/timeoutMs', () => {
    const base = valid().tools[1];
    const h = toolDefinitionHash(base);
    assert.match(h, /^[0-9a-f]{64}$/);
    const reordered = JSON.parse(canonicalJson(base)) as typeof base;
    assert.equal(toolDefinitionHash({ ...reordered, inputSchema: Object.fromEntries(Object.entries(base.inputSchema).reverse()) }), h);
    assert.equal(toolDefinitionHash({ ...base, confirmation: undefined }), h, 'an omitted confirmation is "none"');
    assert.equal(toolDefinitionHash({ ...base, idempotent: false, timeoutMs: 30_000 }), h);
    const two = { ...base, permissions: ['b:c:d', 'a:b:c'] };
    assert.equal(toolDefinitionHash(two), toolDefinitionHash({ ...two, permissions: ['a:b:c', 'b:c:d', 'a:b:c'] }));
  });

  it('the hash changes with every part of the definition', () => {
    const base = valid().tools[1];
    const h = toolDefinitionHash(base);
    const variants = [
      { ...base, name: 'book_delivery' },
      { ...base, description: `${base.description} ` },
      { ...base, inputSchema: { ...base.inputSchema, required: ['orderNumber'] } },
      { ...base, outputSchema: undefined },
      { ...base, permissions: [] },
      { ...base, effect: 'money' as const },
      { ...base, confirmation: 'human' as const },
    ];
    const hashes = variants.map((v) => toolDefinitionHash(v));
    assert.equal(new Set([h, ...hashes]).size, variants.length + 1);
  });

  it('no change, a version bump, copy of the plugin or a timeout need no consent', () => {
    const from = valid();
    assert.deepEqual(diffManifests(from, valid()), { needsConsent: false, reasons: [], notes: [] });
    const to = valid((m) => { m.version = '1.1.0'; m.description = 'Better words.'; m.name = 'Acme Delivery Co'; m.tools[0].timeoutMs = 9000; m.endpoints.tools = '/v2/tools'; m.baseUrl = 'https://delivery.example.com/plugboard'; });
    assert.equal(diffManifests(from, to).needsConsent, false);
  });

  const cases: Array<[string, (m: Manifest) => void, unknown]> = [
    ['a new permission', (m) => { m.permissions.push({ key: 'delivery:jobs:cancel', label: 'Cancel jobs', description: 'Cancels delivery jobs.' }); }, { kind: 'permission_added', key: 'delivery:jobs:cancel' }],
    ['a permission reworded', (m) => { m.permissions[0].description = 'Reads and changes delivery status.'; }, { kind: 'permission_changed', key: 'delivery:jobs:read' }],
    ['a new toolkit requirement', (m) => { m.requires.toolkits.push({ any: ['escalations'], reason: 'Hands failed deliveries to a person.' }); }, { kind: 'toolkit_requirement_added', any: ['escalations'] }],
    ['a narrower toolkit requirement', (m) => { m.requires.toolkits[0].any = ['payments']; }, { kind: 'toolkit_requirement_added', any: ['payments'] }],
    ['a new tool', (m) => { m.tools.push({ ...m.tools[0], name: 'cancel_delivery' }); }, { kind: 'tool_added', name: 'cancel_delivery' }],
    ['a tool description changed', (m) => { m.tools[0].description += ' Also for returns.'; }, { kind: 'tool_changed', name: 'lookup_delivery' }],
    ['a tool input schema changed', (m) => { m.tools[1].inputSchema.properties.express.description = 'Faster.'; }, { kind: 'tool_changed', name: 'create_delivery_job' }],
    ['a tool now needs human confirmation', (m) => { m.tools[1].confirmation = 'human'; }, { kind: 'tool_changed', name: 'create_delivery_job' }],
    ['the base URL moves to another origin (config secrets would go there)', (m) => { m.baseUrl = 'https://delivery.example.net'; }, { kind: 'base_url_origin_changed', from: 'https://delivery.example.com', to: 'https://delivery.example.net' }],
    ['a new required config field without default', (m) => { m.config.push({ key: 'region', label: 'Region', type: 'string', required: true }); }, { kind: 'required_config_added', key: 'region' }],
  ];
  for (const [name, mutate, reason] of cases) {
    it(`needs consent: ${name}`, () => {
      const d = diffManifests(valid(), valid(mutate));
      assert.equal(d.needsConsent, true);
      assert.deepEqual(d.reasons, [reason]);
    });
  }

  it('removals and wider toolkit alternatives are notes, not consent', () => {
    const d = diffManifests(valid(), valid((m) => {
      m.tools.pop();
      m.permissions.pop();
      m.requires.toolkits[0].any.push('scheduling');
    }));
    assert.equal(d.needsConsent, false);
    assert.deepEqual(d.notes, [
      { kind: 'permission_removed', key: 'delivery:jobs:create' },
      { kind: 'toolkit_requirement_relaxed', any: ['ecommerce', 'payments'] },
      { kind: 'tool_removed', name: 'create_delivery_job' },
    ]);
  });
});
