/**
 * Test harness: a real Plugboard app on 127.0.0.1:0 with its own temp data dir, captured logs,
 * and helpers to create tenants and call the APIs. `await using app = await startApp()`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import OpenAI from 'openai';
import { createApp, type App, type AppOptions } from '../../src/app.ts';
import { loadConfig, type Config } from '../../src/config.ts';
import { addMemberWithToken, createOrganizationWithOwner } from '../../src/control/organizations.ts';
import type { Role } from '../../src/storage/repos/organizations.ts';
import type { CreateKeyInput } from '../../src/storage/repos/gateway-keys.ts';

export function tempDir(prefix = 'plugboard-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Configuration for tests: loopback, ephemeral port, temp data dir, no bootstrap. */
export function testConfig(env: Record<string, string> = {}): Config {
  return loadConfig({
    PLUGBOARD_HOST: '127.0.0.1',
    PLUGBOARD_PORT: '0',
    PLUGBOARD_DATA_DIR: env.PLUGBOARD_DATA_DIR ?? tempDir(),
    PLUGBOARD_BOOTSTRAP: 'false',
    PLUGBOARD_LOG_LEVEL: 'info',
    PLUGBOARD_UPSTREAM_BASE_URL: 'http://127.0.0.1:9/v1',
    PLUGBOARD_UPSTREAM_API_KEY: 'sk-upstream-test-key',
    PLUGBOARD_RATE_LIMIT_RPM: '0',
    PLUGBOARD_SHUTDOWN_TIMEOUT_MS: '2000',
    // Usage retention (issue 13) off: fixtures recorded at fixed past dates must not be pruned under a test; retention tests turn it on.
    PLUGBOARD_USAGE_RETENTION_DAYS: '0',
    ...env,
  });
}

export interface Tenant {
  orgId: string;
  ownerUserId: string;
  ownerToken: string;
}

export interface TestApp extends AsyncDisposable {
  app: App;
  url: string;
  config: Config;
  /** Everything the app logged (JSON lines). */
  logs: string[];
  tenant(name?: string): Tenant;
  member(orgId: string, role: Role, name?: string): { userId: string; token: string };
  key(orgId: string, input?: CreateKeyInput): { id: string; secret: string };
  /** An `openai` SDK client pointed at the gateway. */
  openai(key: string, opts?: { maxRetries?: number; timeout?: number }): OpenAI;
  /** Calls the control-panel API; returns status, headers and parsed JSON. */
  api(method: string, path: string, opts?: { token?: string; orgId?: string; body?: unknown; rawBody?: string; headers?: Record<string, string> }): Promise<{ status: number; headers: Headers; json: any; text: string }>;
  close(): Promise<void>;
}

export async function startApp(env: Record<string, string> = {}, options: AppOptions = {}): Promise<TestApp> {
  const config = testConfig(env);
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      for (const line of String(chunk).split('\n')) if (line) logs.push(line);
      cb();
    },
  });
  const app = createApp(config, { logDestination: sink, ...options });
  const url = await app.listen();
  const close = () => app.close();
  return {
    app, url, config, logs,
    tenant(name = 'Acme') {
      const c = createOrganizationWithOwner(app.repos, { name, ownerName: 'Owner' });
      return { orgId: c.organization.id, ownerUserId: c.ownerUserId, ownerToken: c.ownerToken };
    },
    member(orgId, role, name = `${role} user`) {
      const m = addMemberWithToken(app.repos, orgId, { name, role });
      return { userId: m.userId, token: m.token };
    },
    key(orgId, input = {}) {
      const { key, secret } = app.repos.keys.create(orgId, input);
      return { id: key.id, secret };
    },
    openai(key, opts = {}) {
      return new OpenAI({ apiKey: key, baseURL: `${url}/v1`, maxRetries: opts.maxRetries ?? 0, timeout: opts.timeout ?? 20_000, organization: null, project: null });
    },
    async api(method, p, opts = {}) {
      const headers: Record<string, string> = { ...opts.headers };
      if (opts.token) headers.authorization = `Bearer ${opts.token}`;
      if (opts.orgId) headers['x-org-id'] = opts.orgId;
      let body: string | undefined = opts.rawBody;
      if (opts.body !== undefined) body = JSON.stringify(opts.body);
      if (body !== undefined && !headers['content-type']) headers['content-type'] = 'application/json';
      const res = await fetch(url + p, { method, headers, body });
      const text = await res.text();
      let json: unknown = null;
      try {
        json = text ? JSON.parse(text) : null;
      } catch {
        json = null;
      }
      return { status: res.status, headers: res.headers, json, text };
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
