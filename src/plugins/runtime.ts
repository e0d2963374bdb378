/**
 * The plugin runtime: one surface over every plugin kind.
 *
 * Lists an organisation's plugins, narrows them to what a key / request / WhatsApp instance may
 * use (never widening), builds the OpenAI `tools[]` with prefixed names, and executes a model's tool
 * call with every safeguard: name resolution through a stored map, allowlist, argument validation,
 * per-tool rate limit, timeout, size cap and scrubbed errors. A plugin failure is a tool error the
 * model reads — never an exception out of here. Knows nothing of HTTP.
 *
 * Installed plugins are driven by their kind, looked up in the map the runtime is built from: an
 * installation of a kind the map lacks is skipped (and logged once), never handed to another kind.
 * A new kind is a new entry in that map; nothing here names one.
 */
import type { Logger } from '../log.ts';
import type { InstallationsRepo, Installation } from '../storage/repos/plugin-installations.ts';
import { prefixToolNames } from './naming.ts';
import { toFunctionParameters, type ArgumentValidator } from './schema.ts';
import type { ToolLimiter, ToolRateLimits } from './limits.ts';
import { scrubText } from './scrub.ts';
import { capUtf8 } from '../net/text.ts';
import type { FirstPartyPlugin, PluginHandle, PluginKind, ToolCallContext, ToolDescriptor } from './types.ts';
import { createVersionedCache, type ConfigVersion } from '../storage/config-version.ts';
import { NO_SECRETS, type Redactor } from '../storage/known-secrets.ts';
import { isTooDeep, MAX_JSON_DEPTH } from '../net/json-depth.ts';

/** OpenAI's limit on `tools[]` per request. */
export const MAX_TOOLS_PER_REQUEST = 128;
/** Unknown-tool errors list at most this many valid names back to the model. */
const MAX_NAMES_IN_ERROR = 20;
/** Installations of an unknown kind remembered as already logged (beyond this, one may be logged again). */
const MAX_SKIPS_REMEMBERED = 10_000;

/** The kinds map the runtime is built from, keyed by each kind's name; a kind named twice is a wiring error. */
export function pluginKinds(...kinds: PluginKind[]): ReadonlyMap<string, PluginKind> {
  const map = new Map<string, PluginKind>();
  for (const k of kinds) {
    if (map.has(k.kind)) throw new Error(`Plugin kind "${k.kind}" is registered twice.`);
    map.set(k.kind, k);
  }
  return map;
}

export interface PluginSummary {
  handle: PluginHandle;
  toolCount: number;
  installation: Installation | null;
}

export interface ResolvedTool {
  prefixedName: string;
  plugin: PluginHandle;
  tool: ToolDescriptor;
  rateLimits: ToolRateLimits;
}

export interface OpenAiFunctionTool {
  type: 'function';
  function: { name: string; description: string; parameters: Record<string, unknown> };
}

/** Shared between requests (cached per plugin set): read-only. */
export interface ToolSet {
  readonly tools: readonly OpenAiFunctionTool[];
  readonly byName: ReadonlyMap<string, ResolvedTool>;
  /** Tools that exist but are not allowed (allowlist), for a precise error and audit. */
  readonly notAllowed: ReadonlyMap<string, ResolvedTool>;
  /** Tools left out because of the 128-tool limit. */
  readonly omitted: readonly string[];
  readonly pluginIds: readonly string[];
}

export interface ToolCallResult {
  prefixedName: string;
  pluginId: string | null;
  tool: string | null;
  isError: boolean;
  errorClass: string | null;
  text: string;
  latencyMs: number;
}

export interface RuntimeDeps {
  installations: InstallationsRepo;
  /** The installed-plugin kinds this runtime drives, by name (see `pluginKinds`). */
  kinds: ReadonlyMap<string, PluginKind>;
  firstParty: readonly FirstPartyPlugin[];
  validator: ArgumentValidator;
  limiter: ToolLimiter;
  toolTimeoutMs: number;
  maxResultBytes: number;
  /** Plugin lists are cached per organisation until the configuration changes. */
  configVersion: ConfigVersion;
  /** Every known secret leaves every tool result (ok or error, of any plugin kind) before the model reads it. */
  secrets?: Redactor;
  /** Where a skipped installation (unknown kind) is reported, once. */
  log?: Pick<Logger, 'warn'>;
}

export interface PluginScope {
  /** The gateway key's plugin list; null = all of the organisation's. */
  keyAllowed?: readonly string[] | null;
  /** The request's (or WhatsApp instance's) narrowing; null/undefined = no narrowing. */
  narrowTo?: readonly string[] | null;
  /** The call happens inside a conversation (a customer to act for); conversation-only plugins need one. */
  inConversation?: boolean;
}

export function createPluginRuntime(deps: RuntimeDeps) {
  const secrets = deps.secrets ?? NO_SECRETS;
  function allowlisted(inst: Installation | null, name: string): boolean {
    return !inst || inst.toolAllowlist === null || inst.toolAllowlist.includes(name);
  }

  const skipped = new Set<string>();
  function skip(inst: Installation): void {
    if (skipped.has(inst.id)) return;
    if (skipped.size >= MAX_SKIPS_REMEMBERED) skipped.clear();
    skipped.add(inst.id);
    deps.log?.warn({ installationId: inst.id, organizationId: inst.orgId, kind: inst.kind }, 'installation of a plugin kind this runtime does not drive: skipped');
  }

  const cache = createVersionedCache<string, PluginSummary[]>(deps.configVersion);
  const plugins = (orgId: string): PluginSummary[] => cache.get(orgId, () => loadPlugins(orgId));

  function loadPlugins(orgId: string): PluginSummary[] {
    const out: PluginSummary[] = [];
    for (const fp of deps.firstParty) {
      const handle = fp.forOrg(orgId);
      if (handle) out.push({ handle, toolCount: prefixToolNames(handle.slug, handle.tools().map((t) => t.name)).named.length, installation: null });
    }
    for (const inst of deps.installations.listActive(orgId)) {
      const kind = deps.kinds.get(inst.kind);
      if (!kind) {
        skip(inst);
        continue;
      }
      const toolCount = inst.catalog.filter((t) => allowlisted(inst, t.name)).length;
      out.push({ handle: kind.handle(inst), toolCount, installation: inst });
    }
    return out;
  }

  function buildToolSetNow(selected: PluginSummary[]): ToolSet {
    const set = { tools: [] as OpenAiFunctionTool[], byName: new Map<string, ResolvedTool>(), notAllowed: new Map<string, ResolvedTool>(), omitted: [] as string[], pluginIds: [] as string[] };
    for (const p of selected) {
      set.pluginIds.push(p.handle.id);
      const tools = p.handle.tools();
      const { named } = prefixToolNames(p.handle.slug, tools.map((t) => t.name));
      const byOwn = new Map(tools.map((t) => [t.name, t]));
      for (const n of named) {
        const tool = byOwn.get(n.name)!;
        const resolved: ResolvedTool = { prefixedName: n.prefixedName, plugin: p.handle, tool, rateLimits: p.installation?.toolRateLimits ?? p.handle.rateLimits ?? {} };
        if (!allowlisted(p.installation, tool.name)) {
          set.notAllowed.set(n.prefixedName, resolved);
          continue;
        }
        if (set.tools.length >= MAX_TOOLS_PER_REQUEST) {
          set.omitted.push(n.prefixedName);
          continue;
        }
        set.byName.set(n.prefixedName, resolved);
        set.tools.push({ type: 'function', function: { name: n.prefixedName, description: tool.description || tool.name, parameters: toFunctionParameters(tool.inputSchema) } });
      }
    }
    Object.freeze(set.tools);
    Object.freeze(set.omitted);
    Object.freeze(set.pluginIds);
    return set satisfies ToolSet;
  }

  const toolSets = createVersionedCache<string, { handles: PluginHandle[]; set: ToolSet }>(deps.configVersion, 1_000);

  const matches = (p: PluginSummary, ids: readonly string[]): boolean => ids.includes(p.handle.id) || ids.includes(p.handle.slug);

  return {
    /** Every plugin of the organisation (first-party ones where usable, active installations of a known kind). */
    listPlugins: plugins,

    /** The kind that drives installations named `name`, if this runtime has it. */
    kind(name: string): PluginKind | undefined {
      return deps.kinds.get(name);
    },

    /** Closes every kind's connections (shutdown). */
    async closeAll(): Promise<void> {
      await Promise.all([...deps.kinds.values()].map((k) => k.closeAll().catch(() => undefined)));
    },

    /**
     * Every plugin id the organisation's keys and grants may name: its installations of any status
     * (a paused one may be resumed) and every first-party plugin, usable yet or not. A new plugin
     * kind adds its ids here.
     */
    pluginIdsOf(orgId: string): string[] {
      return [...deps.firstParty.map((fp) => `first_party:${fp.slug}`), ...deps.installations.list(orgId).map((i) => i.id)];
    },

    /** The plugins a call may use: organisation ∩ key scope ∩ request narrowing, with at least one tool. */
    usablePlugins(orgId: string, scope: PluginScope): PluginSummary[] {
      return plugins(orgId).filter(
        (p) => p.toolCount > 0 && (!p.handle.conversationOnly || scope.inConversation === true) && (scope.keyAllowed == null || matches(p, scope.keyAllowed)) && (scope.narrowTo == null || matches(p, scope.narrowTo)),
      );
    },

    /**
     * The `tools[]` and name map for these plugins. Cached until the configuration changes (catalogs,
     * allowlists and installations all move the version): converting every tool's schema on every
     * request costs more than the rest of the decision. The set is shared: never mutate it.
     */
    buildToolSet(selected: PluginSummary[]): ToolSet {
      const key = selected.map((p) => p.handle.id).join('\n');
      const hit = toolSets.get(key, () => ({ handles: selected.map((p) => p.handle), set: buildToolSetNow(selected) }));
      // Same ids, other handle objects (another organisation's first-party plugin): build afresh.
      return hit.handles.length === selected.length && hit.handles.every((h, i) => h === selected[i].handle) ? hit.set : buildToolSetNow(selected);
    },

    /** Executes one tool call of the model; always resolves with something the model can read. */
    async callTool(set: ToolSet, call: { name: string; arguments: string }, ctx: ToolCallContext): Promise<ToolCallResult> {
      const started = performance.now();
      const fail = (errorClass: string, text: string, resolved?: ResolvedTool): ToolCallResult => ({
        prefixedName: call.name, pluginId: resolved?.plugin.id ?? null, tool: resolved?.tool.name ?? null, isError: true, errorClass,
        text: scrubText(text, { secrets, maxLength: 1000 }), latencyMs: performance.now() - started,
      });
      const resolved = set.byName.get(call.name);
      if (!resolved) {
        const excluded = set.notAllowed.get(call.name);
        if (excluded) return fail('not_allowed', `Tool "${call.name}" is not allowed here. Do not call it again; answer without it.`, excluded);
        const names = [...set.byName.keys()].slice(0, MAX_NAMES_IN_ERROR).join(', ');
        return fail('unknown_tool', `There is no tool named "${call.name}". Available tools: ${names || '(none)'}.`);
      }
      let args: unknown;
      try {
        args = call.arguments.trim() === '' ? {} : JSON.parse(call.arguments);
      } catch {
        return fail('invalid_arguments', `The arguments for ${call.name} are not valid JSON. Send a JSON object matching the tool's parameters.`, resolved);
      }
      if (args === null || typeof args !== 'object' || Array.isArray(args)) {
        return fail('invalid_arguments', `The arguments for ${call.name} must be a JSON object.`, resolved);
      }
      // The same nesting limit as request bodies, before the validator and the plugin walk the value.
      if (isTooDeep(call.arguments)) {
        return fail('invalid_arguments', `The arguments for ${call.name} nest deeper than ${MAX_JSON_DEPTH} levels.`, resolved);
      }
      const check = deps.validator.check(resolved.tool.inputSchema, args);
      if (!check.ok) return fail('invalid_arguments', `Invalid arguments for ${call.name}: ${check.problems}. Fix them and call again.`, resolved);
      const waitSeconds = await deps.limiter.consume(ctx.orgId, resolved.plugin.id, resolved.tool.name, resolved.rateLimits);
      if (waitSeconds !== null) {
        return fail('rate_limited', `Tool ${call.name} is rate limited; it may be called again in ${waitSeconds}s. Answer without it for now.`, resolved);
      }
      try {
        const out = await resolved.plugin.call(resolved.tool.name, args as Record<string, unknown>, { ...ctx, timeoutMs: ctx.timeoutMs || deps.toolTimeoutMs });
        // Redacted before the cap, so no half secret survives the cut.
        const text = out.isError ? scrubText(out.text, { secrets, maxLength: 2000 }) : capUtf8(secrets.redact(out.text), deps.maxResultBytes);
        return {
          prefixedName: call.name, pluginId: resolved.plugin.id, tool: resolved.tool.name, isError: out.isError,
          errorClass: out.isError ? (out.errorClass ?? 'tool_error') : null, text, latencyMs: performance.now() - started,
        };
      } catch (err) {
        return fail('plugin_error', `Tool ${call.name} failed: ${(err as Error)?.message ?? 'unknown error'}`, resolved);
      }
    },
  };
}
export type PluginRuntime = ReturnType<typeof createPluginRuntime>;
