/**
 * Pure views of the plugin log: one row per call (time, tool, mode, status, HTTP status, latency,
 * error) and the detail of one call with its request and response bodies — which the server keeps
 * only for sandbox installations (secrets already redacted there). Never import blessed or call the API.
 */
import type { PluginLogEntry } from '../../src/shared/api.ts';
import { clean, formatLatency, shortTime, type Column } from './text.ts';

export const PLUGIN_LOG_COLUMNS: Column[] = [
  { title: 'TIME', width: 14 },
  { title: 'TOOL', width: 18 },
  { title: 'MODE', width: 7 },
  { title: 'STATUS', width: 6 },
  { title: 'HTTP', width: 4, align: 'right', drop: 2 },
  { title: 'LATENCY', width: 7, align: 'right', drop: 1 },
  { title: 'ERROR', min: 8 },
];

export function pluginLogRow(e: PluginLogEntry): string[] {
  return [shortTime(e.createdAt), clean(e.tool), e.mode, e.status, e.httpStatus === null ? '-' : String(e.httpStatus), formatLatency(e.latencyMs), clean(e.errorClass ? `${e.errorClass}: ${e.error ?? ''}` : e.error, '')];
}

/** A body as readable lines: JSON pretty-printed, anything else as is (controls removed), capped. */
export function bodyLines(body: string, maxLines = 200): string[] {
  let text = body;
  try {
    text = JSON.stringify(JSON.parse(body), null, 2);
  } catch {
    // not JSON (an HTML error page, a cut body): shown as sent
  }
  const lines = text.split('\n').map((l) => clean(l, ''));
  return lines.length > maxLines ? [...lines.slice(0, maxLines), `… ${lines.length - maxLines} more lines`] : lines;
}

/** One call: outcome first, then the bodies (answer before request), the identifiers last (they are long). */
export function pluginLogDetail(e: PluginLogEntry): string[] {
  const lines = [`${clean(e.tool)} ${e.status}${e.httpStatus === null ? '' : ` HTTP ${e.httpStatus}`} in ${formatLatency(e.latencyMs)} (${e.attempts} attempt${e.attempts === 1 ? '' : 's'}) — ${e.mode}, ${shortTime(e.createdAt)}`];
  if (e.error) lines.push(`Error: ${clean(e.errorClass ? `${e.errorClass}: ` : '', '')}${clean(e.error)}`);
  if (e.mode !== 'sandbox') lines.push('Bodies are kept only for sandbox installations (live calls log the outcome only).');
  else {
    // The answer first: it is what the model read, and the request (context, config) is long.
    lines.push('Response body:', ...(e.responseBody === null ? ['(none)'] : bodyLines(e.responseBody)));
    lines.push('', 'Request body:', ...(e.requestBody === null ? ['(none)'] : bodyLines(e.requestBody)));
  }
  lines.push('', `Version ${clean(e.version)}  instance ${clean(e.instanceId)}`, `Installation ${e.installationId}`, `Request ${clean(e.requestId)}`, `webhook-id ${clean(e.webhookId)}`);
  return lines;
}
