/**
 * The TUI's calls for custom plugins (issue 11), on top of the shell's client (tui/client.ts:
 * `OrgClient.call` and `ApiClient.request`): the developer area, the plugin directory, custom plugin installations with
 * their upgrades and logs (one organisation, `X-Org-Id` on every call), and the appliance
 * operator's review queue, installations and logs (`pbo_…` token, no organisation). Kept apart from
 * client.ts so the shell's file stays its owner's. Never touches the screen or reads files.
 */
import type {
  AcceptPluginUpgradeRequest, CustomPlugin, CustomPluginVersion, CustomPluginVersionDetail, DeletedResponse, DirectoryPlugin,
  DirectoryPluginDetail, InstallPluginRequest, ListResponse, OperatorIdentity, OperatorInstallation, PluginInstallation, PluginLogPage,
  PluginReview, RegisterCustomPluginRequest, RegisteredCustomPlugin, RotatedPluginSecret, UpdatePluginInstallationRequest,
} from '../src/shared/api.ts';
import { queryString, type ApiClient, type OrgClient } from './client.ts';

/** The shell's request function (`ctx.client.request`): bearer token, JSON, timeouts, ApiError on failure. */
export type RequestFn = ApiClient['request'];

export interface PageQuery {
  limit?: number;
  cursor?: string;
}

/** The developer area, directory and custom installations of one organisation. */
export interface DevClient {
  readonly orgId: string;
  // Developer area (owners and admins of the authoring organisation)
  devPlugins(signal: AbortSignal): Promise<CustomPlugin[]>;
  devPlugin(pluginId: string, signal: AbortSignal): Promise<CustomPlugin>;
  register(body: RegisterCustomPluginRequest, signal: AbortSignal): Promise<RegisteredCustomPlugin>;
  addVersion(pluginId: string, body: RegisterCustomPluginRequest, signal: AbortSignal): Promise<CustomPluginVersionDetail>;
  version(pluginId: string, version: string, signal: AbortSignal): Promise<CustomPluginVersionDetail>;
  versionAction(pluginId: string, version: string, action: 'submit' | 'deprecate' | 'withdraw', signal: AbortSignal): Promise<CustomPluginVersion>;
  rotateSecret(pluginId: string, overlapSeconds: number | undefined, signal: AbortSignal): Promise<RotatedPluginSecret>;
  pluginLogs(pluginId: string, q: PageQuery, signal: AbortSignal): Promise<PluginLogPage>;
  // Directory
  directory(signal: AbortSignal): Promise<DirectoryPlugin[]>;
  directoryEntry(pluginId: string, version: string | undefined, signal: AbortSignal): Promise<DirectoryPluginDetail>;
  // Installations
  installations(signal: AbortSignal): Promise<PluginInstallation[]>;
  installation(id: string, signal: AbortSignal): Promise<PluginInstallation>;
  install(body: InstallPluginRequest, signal: AbortSignal): Promise<PluginInstallation>;
  updateInstallation(id: string, patch: UpdatePluginInstallationRequest, signal: AbortSignal): Promise<PluginInstallation>;
  uninstall(id: string, signal: AbortSignal): Promise<DeletedResponse>;
  upgrade(id: string, version: string | undefined, signal: AbortSignal): Promise<PluginInstallation>;
  acceptUpgrade(id: string, body: AcceptPluginUpgradeRequest, signal: AbortSignal): Promise<PluginInstallation>;
  installationLogs(id: string, q: PageQuery, signal: AbortSignal): Promise<PluginLogPage>;
}

/** The appliance operator's API (`/operator/…`, a `pbo_…` token; operators are not organisation members). */
export interface OperatorClient {
  me(signal: AbortSignal): Promise<OperatorIdentity>;
  reviews(signal: AbortSignal): Promise<PluginReview[]>;
  review(versionId: string, signal: AbortSignal): Promise<PluginReview>;
  approve(versionId: string, note: string | undefined, signal: AbortSignal): Promise<CustomPluginVersion>;
  reject(versionId: string, reason: string, signal: AbortSignal): Promise<CustomPluginVersion>;
  versionAction(versionId: string, action: 'deprecate' | 'withdraw', signal: AbortSignal): Promise<CustomPluginVersion>;
  installations(q: { pluginId?: string }, signal: AbortSignal): Promise<OperatorInstallation[]>;
  pause(id: string, reason: string | undefined, signal: AbortSignal): Promise<OperatorInstallation>;
  resume(id: string, signal: AbortSignal): Promise<OperatorInstallation>;
  logs(q: PageQuery & { pluginId?: string; installationId?: string }, signal: AbortSignal): Promise<PluginLogPage>;
}

const id = encodeURIComponent;

export function createDevClient(api: OrgClient): DevClient {
  const list = async <T>(path: string, signal: AbortSignal): Promise<T[]> => (await api.call<ListResponse<T>>('GET', path, signal)).data;
  const dev = '/developer/plugins';
  const inst = '/plugin-installations';
  return {
    orgId: api.orgId,
    devPlugins: (s) => list(dev, s),
    devPlugin: (pid, s) => api.call('GET', `${dev}/${id(pid)}`, s),
    register: (body, s) => api.call('POST', dev, s, body),
    addVersion: (pid, body, s) => api.call('POST', `${dev}/${id(pid)}/versions`, s, body),
    version: (pid, v, s) => api.call('GET', `${dev}/${id(pid)}/versions/${id(v)}`, s),
    versionAction: (pid, v, action, s) => api.call('POST', `${dev}/${id(pid)}/versions/${id(v)}/${action}`, s, {}),
    rotateSecret: (pid, overlapSeconds, s) => api.call('POST', `${dev}/${id(pid)}/rotate-secret`, s, overlapSeconds === undefined ? {} : { overlapSeconds }),
    pluginLogs: (pid, q, s) => api.call('GET', `${dev}/${id(pid)}/logs`, s, undefined, { ...q }),
    directory: (s) => list('/plugin-directory', s),
    directoryEntry: (pid, v, s) => api.call('GET', `/plugin-directory/${id(pid)}`, s, undefined, { version: v }),
    installations: (s) => list(inst, s),
    installation: (iid, s) => api.call('GET', `${inst}/${id(iid)}`, s),
    install: (body, s) => api.call('POST', inst, s, body),
    updateInstallation: (iid, patch, s) => api.call('PATCH', `${inst}/${id(iid)}`, s, patch),
    uninstall: (iid, s) => api.call('DELETE', `${inst}/${id(iid)}`, s),
    upgrade: (iid, v, s) => api.call('POST', `${inst}/${id(iid)}/upgrade`, s, v === undefined ? {} : { version: v }),
    acceptUpgrade: (iid, body, s) => api.call('POST', `${inst}/${id(iid)}/accept-upgrade`, s, body),
    installationLogs: (iid, q, s) => api.call('GET', `${inst}/${id(iid)}/logs`, s, undefined, { ...q }),
  };
}

export function createOperatorClient(request: RequestFn): OperatorClient {
  const call = <T>(method: string, path: string, signal: AbortSignal, body?: unknown): Promise<T> => request<T>(method, `/operator${path}`, { body, signal });
  return {
    me: (s) => call('GET', '/me', s),
    reviews: async (s) => (await call<ListResponse<PluginReview>>('GET', '/plugin-reviews', s)).data,
    review: (vid, s) => call('GET', `/plugin-versions/${id(vid)}`, s),
    approve: (vid, note, s) => call('POST', `/plugin-versions/${id(vid)}/approve`, s, note ? { note } : {}),
    reject: (vid, reason, s) => call('POST', `/plugin-versions/${id(vid)}/reject`, s, { reason }),
    versionAction: (vid, action, s) => call('POST', `/plugin-versions/${id(vid)}/${action}`, s, {}),
    installations: async (q, s) => (await call<ListResponse<OperatorInstallation>>('GET', `/plugin-installations${queryString({ pluginId: q.pluginId })}`, s)).data,
    pause: (iid, reason, s) => call('POST', `/plugin-installations/${id(iid)}/pause`, s, reason ? { reason } : {}),
    resume: (iid, s) => call('POST', `/plugin-installations/${id(iid)}/resume`, s, {}),
    logs: (q, s) => call('GET', `/plugin-logs${queryString({ ...q })}`, s),
  };
}

/** True for an appliance operator token (`pbo_…`): the TUI then opens the operator's screens instead of an organisation's. */
export function isOperatorToken(token: string): boolean {
  return token.startsWith('pbo_');
}
