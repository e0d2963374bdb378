/**
 * Holds the Twilio fake to Twilio's own OpenAPI description of Messages (a copy of
 * /work/shared/data/twilio/twilio_messages_v2010.json in ./fixtures): every documented parameter
 * is known with its type, pattern and enum; required ones are enforced; every documented
 * property of the message and page resources is present with the documented type.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { describe, it } from 'node:test';
import { CREATE_PARAMS, fakeSid, startFakeTwilio, type FakeTwilio } from '../fakes/twilio-api.ts';

type Schema = { type?: string; format?: string; pattern?: string; enum?: string[]; nullable?: boolean; items?: Schema; $ref?: string; properties?: Record<string, Schema>; required?: string[] };

const spec = JSON.parse(fs.readFileSync(new URL('./fixtures/twilio_messages_v2010.json', import.meta.url), 'utf8'));
const LIST_PATH = '/2010-04-01/Accounts/{AccountSid}/Messages.json';
const ONE_PATH = '/2010-04-01/Accounts/{AccountSid}/Messages/{Sid}.json';
const resolve = (s: Schema): Schema => (s.$ref ? spec.components.schemas[s.$ref.split('/').pop()!] : s);
const createSchema: Schema = spec.paths[LIST_PATH].post.requestBody.content['application/x-www-form-urlencoded'].schema;
const messageSchema: Schema = spec.components.schemas['api.v2010.account.message'];
const pageSchema: Schema = spec.paths[LIST_PATH].get.responses['200'].content['application/json'].schema;

const SENDER = 'whatsapp:+14155550100';
const ALICE = 'whatsapp:+14155550123';

async function call(fake: FakeTwilio, method: string, path: string, form?: Record<string, string | string[]>, auth = true) {
  const pairs = form ? Object.entries(form).flatMap(([k, v]) => (Array.isArray(v) ? v : [v]).map((x): [string, string] => [k, x])) : undefined;
  const body = pairs ? new URLSearchParams(pairs) : undefined;
  const res = await fetch(fake.origin + path, {
    method,
    headers: {
      ...(auth && { authorization: 'Basic ' + Buffer.from(`${fake.accountSid}:${fake.authToken}`).toString('base64') }),
      ...(body && { 'content-type': 'application/x-www-form-urlencoded' }),
    },
    body,
  });
  return { status: res.status, json: (await res.json()) as Record<string, any> };
}
const create = (fake: FakeTwilio, form: Record<string, string | string[]>) => call(fake, 'POST', `/2010-04-01/Accounts/${fake.accountSid}/Messages.json`, form);

/** Asserts a value has the documented type/format/pattern/enum of a schema property. */
function conforms(name: string, value: unknown, s: Schema): void {
  const schema = resolve(s);
  if (value === null) return assert.ok(s.nullable || schema.nullable, `${name} is null but not nullable`);
  if (schema.enum) assert.ok(schema.enum.includes(value as string), `${name}=${String(value)} not in enum`);
  if (schema.type === 'string') assert.equal(typeof value, 'string', name);
  if (schema.type === 'integer') assert.ok(Number.isInteger(value), name);
  if (schema.type === 'object') assert.equal(typeof value, 'object', name);
  if (schema.type === 'array') assert.ok(Array.isArray(value), name);
  if (schema.pattern) assert.match(value as string, new RegExp(schema.pattern), name);
  if (schema.format === 'date-time-rfc-2822') assert.match(value as string, /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} \+0000$/, name);
}

function conformsToMessage(json: Record<string, unknown>): void {
  assert.deepEqual(Object.keys(json).sort(), Object.keys(messageSchema.properties!).sort(), 'exactly the documented properties');
  for (const [k, s] of Object.entries(messageSchema.properties!)) conforms(k, json[k], s);
}

/** A value the spec allows for each create parameter (used to send all of them at once). */
function validValue(name: string, s: Schema): string | string[] {
  const schema = resolve(s);
  if (schema.enum) return schema.enum[0];
  if (schema.pattern) return schema.pattern.slice(1, 3) + 'a'.repeat(32);
  const byName: Record<string, string | string[]> = {
    To: ALICE, From: SENDER, FallbackFrom: '+14155550100', StatusCallback: 'https://pb.example.com/status',
    MediaUrl: ['https://cdn.example.com/a.jpg'], PersistentAction: ['geo:37.787890,-122.391664|375 Beale St'],
    ContentVariables: '{"1":"Ana"}', SendAt: '2030-01-01T10:00:00Z', Body: 'hello',
  };
  if (name in byName) return byName[name];
  return { boolean: 'true', integer: '5', number: '0.5' }[schema.type as 'boolean' | 'integer' | 'number'] ?? 'x';
}

describe('Twilio fake vs. Twilio\'s OpenAPI description', () => {
  it('knows exactly the documented create parameters, with their types, patterns and enums', () => {
    assert.deepEqual(Object.keys(CREATE_PARAMS).sort(), Object.keys(createSchema.properties!).sort());
    for (const [name, raw] of Object.entries(createSchema.properties!)) {
      const s = resolve(raw);
      const rule = CREATE_PARAMS[name];
      if (s.pattern) assert.deepEqual(rule, { type: 'sid', pattern: new RegExp(s.pattern) }, name);
      else if (s.enum) assert.deepEqual(rule, { type: 'enum', values: s.enum }, name);
      else if (s.type === 'array') assert.deepEqual(rule, { type: 'array', items: s.items?.format === 'uri' ? 'uri' : 'string' }, name);
      else if (s.format === 'phone-number') assert.deepEqual(rule, { type: 'phone' }, name);
      else if (s.format === 'uri' || s.format === 'date-time') assert.deepEqual(rule, { type: s.format }, name);
      else assert.deepEqual(rule, { type: s.type }, name);
    }
    assert.deepEqual(createSchema.required, ['To']);
  });

  it('answers a create with 201 and every documented message property, typed as documented', async () => {
    await using fake = await startFakeTwilio();
    const res = await create(fake, { To: ALICE, From: SENDER, Body: 'Hello! 👍' });
    assert.equal(res.status, 201);
    conformsToMessage(res.json);
    assert.equal(res.json.status, 'queued');
    assert.match(res.json.sid, /^SM[0-9a-f]{32}$/);
    assert.equal(res.json.uri, `/2010-04-01/Accounts/${fake.accountSid}/Messages/${res.json.sid}.json`);
    const example = spec.paths[LIST_PATH].post.responses['201'].content['application/json'].examples.create.value;
    assert.deepEqual(Object.keys(res.json).sort(), Object.keys(example).sort(), 'same keys as Twilio\'s own example');
  });

  it('accepts every documented parameter at once, and ignores unknown ones (Twilio warning 20001)', async () => {
    await using fake = await startFakeTwilio();
    const form = Object.fromEntries(Object.entries(createSchema.properties!).map(([k, s]) => [k, validValue(k, s)]));
    const res = await create(fake, { ...form, MessagingServiceSid: fakeSid('MG'), NotATwilioParam: 'x' });
    assert.equal(res.status, 201, JSON.stringify(res.json));
  });

  it('enforces the required To, and one of From/MessagingServiceSid and Body/MediaUrl/ContentSid', async () => {
    await using fake = await startFakeTwilio();
    const cases: Array<[Record<string, string>, number]> = [
      [{ From: SENDER, Body: 'x' }, 21604],
      [{ To: ALICE, Body: 'x' }, 21603],
      [{ To: ALICE, From: SENDER }, 21602],
      [{ To: ALICE, MessagingServiceSid: fakeSid('MG') }, 21619],
      [{ To: ALICE, From: '+14155550100', Body: 'x' }, 21910],
      [{ To: ALICE, From: SENDER, Body: 'x'.repeat(1601) }, 21617],
      [{ To: ALICE, From: SENDER, Body: 'x', ContentVariables: '{"1":"a"}' }, 21654],
      [{ To: ALICE, From: SENDER, ContentSid: fakeSid('HX'), ContentVariables: '{"1":""}' }, 21656],
      [{ To: ALICE, From: SENDER, Body: 'x', StatusCallback: 'https://bad_host.example.com/cb' }, 21609],
    ];
    for (const [form, code] of cases) {
      const res = await create(fake, form);
      assert.equal(res.status, 400, JSON.stringify(form));
      assert.deepEqual(res.json, { code, message: res.json.message, more_info: `https://www.twilio.com/docs/errors/${code}`, status: 400 });
    }
    assert.equal((await create(fake, { To: ALICE, From: SENDER, MediaUrl: Array(11).fill('https://cdn.example.com/a.jpg') })).json.code, 21623);
    assert.equal((await create(fake, { To: ALICE, From: SENDER, Body: 'x'.repeat(1600) })).status, 201);
    assert.equal(fake.messages.length, 1, 'nothing invalid was stored');
  });

  it('rejects values that break a documented pattern, enum or type, and accepts every enum value', async () => {
    await using fake = await startFakeTwilio();
    const base = { To: ALICE, From: SENDER, Body: 'x' };
    const wrong: Record<string, string> = { boolean: 'maybe', integer: '1.5', number: 'abc', 'date-time': 'tomorrow' };
    for (const [name, raw] of Object.entries(createSchema.properties!)) {
      const s = resolve(raw);
      const bad = s.pattern ? s.pattern.slice(1, 3) + 'z'.repeat(32) : s.enum ? 'not-in-enum' : wrong[s.format === 'date-time' ? 'date-time' : s.type!];
      if (bad === undefined) continue;
      const res = await create(fake, { ...base, [name]: bad });
      assert.equal(res.status, 400, `${name}=${bad} must be refused`);
      for (const ok of s.enum ?? []) assert.equal((await create(fake, { ...base, [name]: ok })).status, 201, `${name}=${ok}`);
    }
  });

  it('lists in Twilio\'s page shape and validates the documented query parameters', async () => {
    await using fake = await startFakeTwilio();
    for (let i = 0; i < 3; i++) await create(fake, { To: ALICE, From: SENDER, Body: `m${i}` });
    const path = `/2010-04-01/Accounts/${fake.accountSid}/Messages.json`;
    const res = await call(fake, 'GET', `${path}?To=${encodeURIComponent(ALICE)}&PageSize=2`);
    assert.equal(res.status, 200);
    assert.deepEqual(Object.keys(res.json).sort(), Object.keys(pageSchema.properties!).sort());
    for (const [k, s] of Object.entries(pageSchema.properties!)) if (k !== 'messages') conforms(k, res.json[k], s);
    assert.equal(res.json.messages.length, 2);
    res.json.messages.forEach(conformsToMessage);
    assert.equal(res.json.page_size, 2);
    assert.match(res.json.next_page_uri, /^\/2010-04-01\/Accounts\/AC[0-9a-f]{32}\/Messages\.json\?.*Page=1.*PageToken=/);
    const next = await call(fake, 'GET', res.json.next_page_uri);
    assert.deepEqual([next.json.messages.length, next.json.next_page_uri, next.json.page], [1, null, 1]);

    const pageSize = spec.paths[LIST_PATH].get.parameters.find((p: { name: string }) => p.name === 'PageSize').schema;
    assert.equal((await call(fake, 'GET', `${path}?PageSize=${pageSize.minimum - 1}`)).status, 400);
    assert.equal((await call(fake, 'GET', `${path}?PageSize=${pageSize.maximum + 1}`)).status, 400);
    assert.equal((await call(fake, 'GET', `${path}?PageSize=${pageSize.maximum}`)).status, 200);
    assert.equal((await call(fake, 'GET', `${path}?${encodeURIComponent('DateSent>')}=never`)).status, 400);
    const names = spec.paths[LIST_PATH].get.parameters.map((p: { name: string }) => p.name);
    assert.deepEqual(names.sort(), ['AccountSid', 'DateSent', 'DateSent<', 'DateSent>', 'From', 'Page', 'PageSize', 'PageToken', 'To']);
  });

  it('fetches by Sid per the instance path, with 404/20404 for unknown or malformed SIDs', async () => {
    await using fake = await startFakeTwilio();
    const created = await create(fake, { To: ALICE, From: SENDER, Body: 'x' });
    const sidPattern = new RegExp(spec.paths[ONE_PATH].get.parameters.find((p: { name: string }) => p.name === 'Sid').schema.pattern);
    assert.match(created.json.sid, sidPattern);
    const got = await call(fake, 'GET', created.json.uri);
    assert.equal(got.status, 200);
    conformsToMessage(got.json);
    for (const sid of [fakeSid('SM'), 'SMnope']) {
      const res = await call(fake, 'GET', `/2010-04-01/Accounts/${fake.accountSid}/Messages/${sid}.json`);
      assert.deepEqual([res.status, res.json.code, res.json.status], [404, 20404, 404]);
    }
  });

  it('requires HTTP Basic auth with the path\'s AccountSid (security scheme accountSid_authToken)', async () => {
    assert.deepEqual(spec.components.securitySchemes.accountSid_authToken, { scheme: 'basic', type: 'http' });
    const [mine, other] = [fakeSid('AC'), fakeSid('AC')];
    await using fake = await startFakeTwilio({ accounts: { [mine]: 'token-a', [other]: 'token-b' } });
    assert.equal(fake.accountSid, mine);
    const path = `/2010-04-01/Accounts/${fake.accountSid}/Messages.json`;
    const anonymous = await call(fake, 'GET', path, undefined, false);
    assert.deepEqual(anonymous.json, { code: 20003, message: 'Authenticate', more_info: 'https://www.twilio.com/docs/errors/20003', status: 401 });
    const foreign = await call(fake, 'GET', `/2010-04-01/Accounts/${other}/Messages.json`);
    assert.equal(foreign.status, 401, 'credentials of one account do not open another');
    assert.equal((await call(fake, 'GET', '/2010-04-01/Accounts/nope/Calls.json')).status, 404);
  });
});
