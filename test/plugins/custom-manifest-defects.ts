/**
 * The table of defective manifests: each row mutates a copy of the valid example manifest
 * (examples/delivery-plugin/plugboard-plugin.json) and names the JSON Pointer paths the validator
 * must report — exactly those, no more. Rows whose `mutate` returns a value replace the manifest.
 */
import type { ValidateManifestOptions } from '../../src/plugins/kinds/custom/manifest.ts';

// The rows poke at arbitrary shapes (that is their point), so the manifest is loosely typed here.
export type Manifest = Record<string, any>;

export interface Defect {
  name: string;
  mutate: (m: Manifest) => unknown;
  paths: string[];
  message?: RegExp;
  opts?: ValidateManifestOptions;
  /** Not combinable with other rows (it breaks the whole manifest). */
  alone?: boolean;
}

const tool = (m: Manifest, i: number): Manifest => m.tools[i];
const input = (m: Manifest): Manifest => m.tools[0].inputSchema;
const order = (m: Manifest): Manifest => m.tools[0].inputSchema.properties.orderNumber;
const perm = (key: string) => ({ key, label: 'Some permission', description: 'Does something.' });

export const DEFECTS: Defect[] = [
  // Top level
  { name: 'unknown top-level field', mutate: (m) => { m.homepage = 'https://x.example'; }, paths: ['/homepage'], message: /not a known field/ },
  { name: 'unknown field whose name needs pointer escaping', mutate: (m) => { m['a/b~c'] = 1; }, paths: ['/a~1b~0c'] },
  { name: '__proto__ as a field', mutate: () => JSON.parse(`{"__proto__": {"slug": "x"}, ${JSON.stringify(baseFields()).slice(1)}`), paths: ['/__proto__'], alone: true },
  { name: 'not an object at all', mutate: () => [], paths: [''], alone: true },
  { name: 'schemaVersion 2', mutate: (m) => { m.schemaVersion = 2; }, paths: ['/schemaVersion'] },
  { name: 'slug missing', mutate: (m) => { delete m.slug; }, paths: ['/slug'], message: /is required/, alone: true },
  { name: 'slug with capitals', mutate: (m) => { m.slug = 'AcmeDelivery'; }, paths: ['/slug'] },
  { name: 'slug too short', mutate: (m) => { m.slug = 'ab'; }, paths: ['/slug'], alone: true },
  { name: 'slug too long', mutate: (m) => { m.slug = 'a'.repeat(25); }, paths: ['/slug'], alone: true },
  { name: 'slug with a double hyphen', mutate: (m) => { m.slug = 'acme--delivery'; }, paths: ['/slug'], alone: true },
  { name: 'slug reserved: whatsapp', mutate: (m) => { m.slug = 'whatsapp'; }, paths: ['/slug'], message: /reserved/, alone: true },
  { name: 'slug reserved: a toolkit name', mutate: (m) => { m.slug = 'payments'; }, paths: ['/slug'], alone: true },
  { name: 'slug reserved prefix: plugboard-', mutate: (m) => { m.slug = 'plugboard-crm'; }, paths: ['/slug'], message: /may not start with "plugboard"/, alone: true },
  { name: 'slug reserved prefix: toolkit', mutate: (m) => { m.slug = 'toolkitx'; }, paths: ['/slug'], alone: true },
  { name: 'version is a range', mutate: (m) => { m.version = '^1.0.0'; }, paths: ['/version'], message: /SemVer/ },
  { name: 'version with a leading v', mutate: (m) => { m.version = 'v1.0.0'; }, paths: ['/version'], alone: true },
  { name: 'version with a leading zero', mutate: (m) => { m.version = '1.02.0'; }, paths: ['/version'], alone: true },
  { name: 'name blank', mutate: (m) => { m.name = '   '; }, paths: ['/name'] },
  { name: 'name with a terminal escape sequence', mutate: (m) => { m.name = 'Acme \u001b[31mDelivery'; }, paths: ['/name'], alone: true },
  { name: 'name with a bidi override', mutate: (m) => { m.name = 'Acme \u202eyreviled'; }, paths: ['/name'], alone: true },
  { name: 'description too long', mutate: (m) => { m.description = 'x'.repeat(301); }, paths: ['/description'] },
  // URLs and endpoints
  { name: 'baseUrl over plain http', mutate: (m) => { m.baseUrl = 'http://delivery.example.com'; }, paths: ['/baseUrl'], message: /https/ },
  { name: 'baseUrl with user info', mutate: (m) => { m.baseUrl = 'https://user:pw@delivery.example.com'; }, paths: ['/baseUrl'], message: /user info/, alone: true },
  { name: 'baseUrl with a query', mutate: (m) => { m.baseUrl = 'https://delivery.example.com/?k=1'; }, paths: ['/baseUrl'], message: /query/, alone: true },
  { name: 'baseUrl with a fragment', mutate: (m) => { m.baseUrl = 'https://delivery.example.com/#x'; }, paths: ['/baseUrl'], message: /fragment/, alone: true },
  { name: 'baseUrl over ftp', mutate: (m) => { m.baseUrl = 'ftp://delivery.example.com'; }, paths: ['/baseUrl'], alone: true },
  { name: 'endpoint path without a leading slash', mutate: (m) => { m.endpoints.tools = 'tools/call'; }, paths: ['/endpoints/tools'] },
  { name: 'endpoint path climbing out with ..', mutate: (m) => { m.endpoints.health = '/a/%2E%2e/health'; }, paths: ['/endpoints/health'], message: /\.\./ },
  { name: 'endpoint path naming another host (//)', mutate: (m) => { m.endpoints.tools = '//evil.example/x'; }, paths: ['/endpoints/tools'], alone: true },
  { name: 'endpoint path with a query', mutate: (m) => { m.endpoints.tools = '/call?x=1'; }, paths: ['/endpoints/tools'], alone: true },
  { name: 'endpoint for tools missing', mutate: (m) => { delete m.endpoints.tools; }, paths: ['/endpoints/tools'], alone: true },
  { name: 'unknown endpoint', mutate: (m) => { m.endpoints.admin = '/admin'; }, paths: ['/endpoints/admin'] },
  { name: 'auth mode not supported', mutate: (m) => { m.auth.mode = 'bearer'; }, paths: ['/auth/mode'], message: /standard-webhooks-hmac/ },
  { name: 'contact without email', mutate: (m) => { delete m.contact.email; }, paths: ['/contact/email'] },
  { name: 'contact email malformed', mutate: (m) => { m.contact.email = 'plugins at example.com'; }, paths: ['/contact/email'], alone: true },
  { name: 'privacy policy over http', mutate: (m) => { m.contact.privacyPolicyUrl = 'http://delivery.example.com/privacy'; }, paths: ['/contact/privacyPolicyUrl'] },
  // Permissions
  { name: 'permission key not namespaced', mutate: (m) => { m.permissions[0].key = 'read_jobs'; tool(m, 0).permissions = ['read_jobs']; }, paths: ['/permissions/0/key', '/tools/0/permissions/0'], message: /namespace:resource:action/ },
  { name: 'permission claiming a platform toolkit permission', mutate: (m) => { m.permissions.push(perm('toolkit:PAYMENTS:refund_manage')); }, paths: ['/permissions/2/key'], message: /toolkit/ },
  { name: 'permission in a reserved namespace', mutate: (m) => { m.permissions.push(perm('payments:refunds:create')); }, paths: ['/permissions/2/key'], message: /reserved/, alone: true },
  { name: 'permission key repeated', mutate: (m) => { m.permissions.push(perm('delivery:jobs:read')); }, paths: ['/permissions/2/key'], message: /repeats/, alone: true },
  { name: 'permission without label', mutate: (m) => { delete m.permissions[1].label; }, paths: ['/permissions/1/label'] },
  { name: 'permission default not a boolean', mutate: (m) => { m.permissions[1].default = 'yes'; }, paths: ['/permissions/1/default'], message: /boolean/ },
  // Tools
  { name: 'no tools', mutate: (m) => { m.tools = []; }, paths: ['/tools'], alone: true },
  { name: 'too many tools', mutate: (m) => { m.tools = Array.from({ length: 33 }, (_, i) => ({ ...tool(m, 0), name: `tool_${i}` })); }, paths: ['/tools'], alone: true },
  { name: 'tool using an undeclared permission', mutate: (m) => { tool(m, 0).permissions.push('delivery:jobs:delete'); }, paths: ['/tools/0/permissions/1'], message: /not declared/ },
  { name: 'tool claiming a toolkit permission', mutate: (m) => { tool(m, 1).permissions = ['toolkit:PAYMENTS:refund_manage']; }, paths: ['/tools/1/permissions/0'], message: /toolkit/, alone: true },
  { name: 'write tool using no permission', mutate: (m) => { tool(m, 1).permissions = []; }, paths: ['/tools/1/permissions'], message: /at least one permission/ },
  { name: 'tool permission listed twice', mutate: (m) => { tool(m, 1).permissions = ['delivery:jobs:create', 'delivery:jobs:create']; }, paths: ['/tools/1/permissions/1'], alone: true },
  { name: 'two tools with one name', mutate: (m) => { tool(m, 1).name = 'lookup_delivery'; }, paths: ['/tools/1/name'], message: /repeats/, alone: true },
  { name: 'tool name not snake_case', mutate: (m) => { tool(m, 0).name = 'LookupDelivery'; }, paths: ['/tools/0/name'], alone: true },
  { name: '<slug>__<tool> over 64 characters', mutate: (m) => { tool(m, 0).name = 'a'.repeat(55); }, paths: ['/tools/0/name'], message: /acme-delivery__a+" \(70 characters\)/ },
  { name: 'tool description too short to guide the model', mutate: (m) => { tool(m, 0).description = 'Delivery lookup.'; }, paths: ['/tools/0/description'] },
  { name: 'tool effect unknown', mutate: (m) => { tool(m, 0).effect = 'delete'; }, paths: ['/tools/0/effect'] },
  { name: 'tool confirmation unknown', mutate: (m) => { tool(m, 0).confirmation = 'always'; }, paths: ['/tools/0/confirmation'] },
  { name: 'tool timeout above 30 s', mutate: (m) => { tool(m, 0).timeoutMs = 60_000; }, paths: ['/tools/0/timeoutMs'] },
  { name: 'tool with an unknown field', mutate: (m) => { tool(m, 0).annotations = { readOnlyHint: true }; }, paths: ['/tools/0/annotations'] },
  { name: 'tool without inputSchema', mutate: (m) => { delete tool(m, 1).inputSchema; }, paths: ['/tools/1/inputSchema'], alone: true },
  // Tool schemas
  { name: 'inputSchema of type array', mutate: (m) => { input(m).type = 'array'; }, paths: ['/tools/0/inputSchema/type'], alone: true },
  { name: 'inputSchema that accepts unknown arguments', mutate: (m) => { delete input(m).additionalProperties; }, paths: ['/tools/0/inputSchema/additionalProperties'] },
  { name: 'inputSchema with a remote $ref', mutate: (m) => { tool(m, 1).inputSchema.properties.address = { $ref: 'https://evil.example/address.json' }; }, paths: ['/tools/1/inputSchema/properties/address/$ref'], message: /local reference/ },
  { name: 'inputSchema with a $ref to nothing', mutate: (m) => { tool(m, 1).inputSchema.properties.express = { $ref: '#/$defs/nope' }; }, paths: ['/tools/1/inputSchema/properties/express/$ref'], message: /points to nothing/, alone: true },
  { name: 'inputSchema larger than 16 KB', mutate: (m) => { order(m).description = 'x'.repeat(17_000); }, paths: ['/tools/0/inputSchema'], message: /bytes/, alone: true },
  { name: 'inputSchema nested too deep', mutate: (m) => { let s: Manifest = { type: 'string' }; for (let i = 0; i < 11; i++) s = { type: 'object', properties: { a: s } }; input(m).properties.deep = s; }, paths: ['/tools/0/inputSchema'], message: /nested/, alone: true },
  { name: 'inputSchema pattern with catastrophic backtracking', mutate: (m) => { order(m).pattern = '^([A-Z0-9]+-?)+$'; }, paths: ['/tools/0/inputSchema/properties/orderNumber/pattern'], message: /exponential/ },
  { name: 'inputSchema pattern that is not a regex', mutate: (m) => { tool(m, 1).inputSchema.properties.orderNumber.pattern = '[A-Z'; }, paths: ['/tools/1/inputSchema/properties/orderNumber/pattern'] },
  { name: 'inputSchema with a misspelt keyword', mutate: (m) => { input(m).requried = ['orderNumber']; }, paths: ['/tools/0/inputSchema/requried'], message: /keyword/ },
  { name: 'inputSchema with an invalid type', mutate: (m) => { tool(m, 1).inputSchema.properties.express.type = 'bool'; }, paths: ['/tools/1/inputSchema/properties/express/type'], alone: true },
  { name: 'inputSchema naming draft-07', mutate: (m) => { input(m).$schema = 'http://json-schema.org/draft-07/schema#'; }, paths: ['/tools/0/inputSchema/$schema'], alone: true },
  { name: 'inputSchema with $id', mutate: (m) => { tool(m, 1).inputSchema.$id = 'https://evil.example/s'; }, paths: ['/tools/1/inputSchema/$id'], alone: true },
  { name: 'outputSchema not an object schema', mutate: (m) => { tool(m, 0).outputSchema = { type: 'string' }; }, paths: ['/tools/0/outputSchema/type'], alone: true },
  { name: 'outputSchema with a remote $ref', mutate: (m) => { tool(m, 1).outputSchema.properties.jobId = { $ref: 'http://169.254.169.254/latest' }; }, paths: ['/tools/1/outputSchema/properties/jobId/$ref'], alone: true },
  // Config
  { name: 'config key repeated', mutate: (m) => { m.config[1].key = 'api_key'; }, paths: ['/config/1/key'], message: /repeats/, alone: true },
  { name: 'config key with capitals', mutate: (m) => { m.config[0].key = 'ApiKey'; }, paths: ['/config/0/key'], alone: true },
  { name: 'config type unknown', mutate: (m) => { m.config[0].type = 'password'; }, paths: ['/config/0/type'], alone: true },
  { name: 'secret with a default value', mutate: (m) => { m.config[0].default = 'ak_0000000000000000'; }, paths: ['/config/0/default'], message: /type "secret"/ },
  { name: 'select without options', mutate: (m) => { delete m.config[2].options; }, paths: ['/config/2/options'], alone: true },
  { name: 'select default not among its options', mutate: (m) => { m.config[2].default = 'pta'; }, paths: ['/config/2/default'], message: /options/ },
  { name: 'select option value repeated', mutate: (m) => { m.config[2].options[2].value = 'jhb'; }, paths: ['/config/2/options/2/value'], alone: true },
  { name: 'string default not matching its pattern', mutate: (m) => { m.config[1].default = 'lower-case'; }, paths: ['/config/1/default'], message: /pattern/ },
  { name: 'config pattern that is not a regex', mutate: (m) => { m.config[1].pattern = '(('; }, paths: ['/config/1/pattern'], alone: true },
  { name: 'config pattern with a backreference', mutate: (m) => { m.config[1].pattern = '^(a)\\1$'; }, paths: ['/config/1/pattern'], message: /backreference/, alone: true },
  { name: 'boolean default not a boolean', mutate: (m) => { m.config[3].default = 'yes'; }, paths: ['/config/3/default'] },
  { name: 'options on a boolean field', mutate: (m) => { m.config[3].options = [{ value: 'y', label: 'Yes' }]; }, paths: ['/config/3/options'], message: /type "boolean"/ },
  { name: 'integer default with a fraction', mutate: (m) => { m.config.push({ key: 'max_parcels', label: 'Most parcels', type: 'integer', default: 2.5 }); }, paths: ['/config/4/default'], alone: true },
  { name: 'number minimum above maximum', mutate: (m) => { m.config.push({ key: 'max_kg', label: 'Heaviest parcel', type: 'number', minimum: 30, maximum: 5 }); }, paths: ['/config/4/maximum'], alone: true },
  { name: 'number default out of range', mutate: (m) => { m.config.push({ key: 'max_kg', label: 'Heaviest parcel', type: 'number', minimum: 1, maximum: 30, default: 50 }); }, paths: ['/config/4/default'], alone: true },
  // Toolkit requirements
  { name: 'toolkit that does not exist', mutate: (m) => { m.requires.toolkits[0].any = ['stripe']; }, paths: ['/requires/toolkits/0/any/0'] },
  { name: 'toolkit spelt in capitals', mutate: (m) => { m.requires.toolkits[0].any = ['PAYMENTS']; }, paths: ['/requires/toolkits/0/any/0'], alone: true },
  { name: 'toolkit requirement without reason', mutate: (m) => { delete m.requires.toolkits[0].reason; }, paths: ['/requires/toolkits/0/reason'] },
  { name: 'toolkit requirement repeated', mutate: (m) => { m.requires.toolkits.push({ any: ['ecommerce', 'payments'], reason: 'Again.' }); }, paths: ['/requires/toolkits/1'], alone: true },
  { name: 'bridges not part of this schema version', mutate: (m) => { m.requires.bridges = ['payments.initiate']; }, paths: ['/requires/bridges'] },
  // Size
  { name: 'manifest larger than 64 KB', mutate: (m) => { m.description = 'x'.repeat(70_000); }, paths: [''], message: /larger than 65536 bytes/, alone: true },
];

/** A few top-level fields of a valid manifest, for rows that build the text themselves. */
function baseFields(): Manifest {
  return {
    schemaVersion: 1, slug: 'acme-delivery', name: 'Acme Delivery', version: '1.0.0', description: 'Delivery lookups.',
    baseUrl: 'https://delivery.example.com', endpoints: { tools: '/tools/call' }, auth: { mode: 'standard-webhooks-hmac' },
    contact: { email: 'plugins@delivery.example.com' },
    tools: [{ name: 'lookup_delivery', description: 'Look up a delivery by order number when a customer asks.', inputSchema: { type: 'object', additionalProperties: false }, effect: 'read' }],
  };
}
