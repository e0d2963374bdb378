/**
 * The tool loop against the reference MCP server, `@modelcontextprotocol/server-everything`,
 * installed through the API with the `auto` transport: its zod-generated schemas reach the
 * upstream without `$schema`, and text, image and structured results reach the model as text.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startApp } from '../helpers/app.ts';
import { chatCompletion, startFakeUpstream, type ReceivedRequest, toolMessages } from '../fakes/openai-upstream.ts';
import { startEverythingServer } from '../fakes/mcp/everything.ts';

const LOOPBACK = { PLUGBOARD_MCP_ALLOWED_NETWORKS: '127.0.0.0/8' };

interface OfferedTool { type: string; function: { name: string; description: string; parameters: Record<string, any> } }

test('server-everything installed with auto transport: schemas without $schema, echo, tiny image and structured content through the loop', async () => {
  await using everything = await startEverythingServer();
  await using upstream = await startFakeUpstream();
  await using t = await startApp({ PLUGBOARD_UPSTREAM_BASE_URL: upstream.url, ...LOOPBACK });
  const tenant = t.tenant();
  const created = await t.api('POST', `/organizations/${tenant.orgId}/mcp-integrations`, {
    token: tenant.ownerToken, orgId: tenant.orgId,
    body: { slug: 'everything', displayName: 'Everything', description: 'The MCP reference server.', url: everything.url, transport: 'auto' },
  });
  assert.equal(created.status, 201, created.text);
  const integration = created.json;
  assert.equal(integration.transport, 'auto');
  assert.equal(integration.resolvedTransport, 'streamable_http');
  const echoEntry = integration.tools.find((x: { name: string }) => x.name === 'echo');
  assert.equal(echoEntry.prefixedName, 'everything__echo');
  assert.equal(typeof echoEntry.inputSchema.$schema, 'string', 'the stored catalog keeps the schema as the server sent it');
  assert.deepEqual(integration.skippedTools, []);

  const key = t.key(tenant.orgId);
  upstream.script(
    {
      json: chatCompletion({
        toolCalls: [
          { id: 'echo', name: 'everything__echo', arguments: { message: 'hello from the model' } },
          { id: 'img', name: 'everything__get-tiny-image', arguments: {} },
          { id: 'weather', name: 'everything__get-structured-content', arguments: { location: 'Chicago' } },
        ],
      }),
    },
    { json: chatCompletion({ content: 'Echoed, looked at the logo, and it is 36 degrees in Chicago.' }) },
  );
  const r = await t.openai(key.secret).chat.completions.create({ model: 'gpt-test', messages: [{ role: 'user', content: 'try everything' }] }).withResponse();
  assert.equal(r.response.status, 200);
  assert.equal(r.data.choices[0].message.content, 'Echoed, looked at the logo, and it is 36 degrees in Chicago.');
  assert.equal(upstream.remaining, 0);
  assert.deepEqual(upstream.unexpected, []);

  const [first, second] = upstream.requests;
  const offered = first.body!.tools as OfferedTool[];
  const names = offered.map((x) => x.function.name);
  for (const n of ['everything__echo', 'everything__get-tiny-image', 'everything__get-structured-content', 'everything__get-sum']) assert.ok(names.includes(n), `${n} in ${names.join(', ')}`);
  assert.ok(names.every((n) => /^[a-zA-Z0-9_-]{1,64}$/.test(n)));
  assert.ok(!JSON.stringify(offered).includes('"$schema"'), 'no tool is offered with $schema');
  const echo = offered.find((x) => x.function.name === 'everything__echo')!;
  assert.equal(echo.type, 'function');
  assert.equal(echo.function.parameters.type, 'object');
  assert.equal(echo.function.parameters.properties.message.type, 'string', "echo's argument is `message`");
  assert.deepEqual(echo.function.parameters.required, ['message']);
  assert.ok(echo.function.description.length > 0);

  const byId = new Map(toolMessages(second).map((m) => [m.tool_call_id, m.content]));
  assert.equal(byId.get('echo'), '<tool_result tool="everything__echo" status="ok">\nEcho: hello from the model\n</tool_result>');

  const image = byId.get('img')!;
  assert.match(image, /^<tool_result tool="everything__get-tiny-image" status="ok">\n/);
  assert.match(image, /\[image: image\/png, \d+(\.\d)? (B|KB), not shown\]/, 'the image is described');
  assert.ok(!/[A-Za-z0-9+/]{200,}/.test(image), 'no base64 blob reaches the model');
  assert.ok(image.length < 1000, `a short description, got ${image.length} chars`);

  const weather = byId.get('weather')!;
  assert.equal(weather, '<tool_result tool="everything__get-structured-content" status="ok">\n{"temperature":36,"conditions":"Light rain / drizzle","humidity":82}\n</tool_result>');

  const usage = await t.api('GET', `/organizations/${tenant.orgId}/usage-events?kind=tool_call`, { token: tenant.ownerToken, orgId: tenant.orgId });
  assert.deepEqual(usage.json.data.map((e: { tool: string; status: string }) => `${e.tool}:${e.status}`).sort(), ['echo:ok', 'get-structured-content:ok', 'get-tiny-image:ok']);
});

test('server-everything: arguments that fail its schema are refused before the call, with the problem named', async () => {
  await using everything = await startEverythingServer();
  await using upstream = await startFakeUpstream();
  await using t = await startApp({ PLUGBOARD_UPSTREAM_BASE_URL: upstream.url, ...LOOPBACK });
  const tenant = t.tenant();
  const created = await t.api('POST', `/organizations/${tenant.orgId}/mcp-integrations`, {
    token: tenant.ownerToken, orgId: tenant.orgId, body: { slug: 'everything', displayName: 'Everything', url: everything.url },
  });
  assert.equal(created.status, 201, created.text);
  const key = t.key(tenant.orgId);
  upstream.script(
    { json: chatCompletion({ toolCalls: [{ id: 'bad', name: 'everything__echo', arguments: { text: 'wrong argument name' } }, { id: 'sum', name: 'everything__get-sum', arguments: { a: 2, b: 40 } }] }) },
    { json: chatCompletion({ content: 'ok' }) },
  );
  await t.openai(key.secret).chat.completions.create({ model: 'gpt-test', messages: [{ role: 'user', content: 'x' }] });
  const byId = new Map(toolMessages(upstream.requests[1]).map((m) => [m.tool_call_id, m.content]));
  assert.match(byId.get('bad')!, /^<tool_result tool="everything__echo" status="error">\nInvalid arguments for everything__echo: .*message/);
  assert.match(byId.get('sum')!, /status="ok">\n.*42/);
  const usage = await t.api('GET', `/organizations/${tenant.orgId}/usage-events?kind=tool_call`, { token: tenant.ownerToken, orgId: tenant.orgId });
  assert.deepEqual(usage.json.data.map((e: { tool: string; errorClass: string | null }) => `${e.tool}:${e.errorClass}`).sort(), ['echo:invalid_arguments', 'get-sum:null']);
});
