/**
 * The tool descriptions an MCP connection returns: the server's own, with types checked but
 * schemas left as given (the runtime sanitises them for OpenAI).
 * Must never import the MCP SDK or drop a field the runtime might need.
 */

/** One tool as an MCP server lists it. */
export interface McpToolInfo {
  name: string;
  description: string;
  inputSchema: Record<string, unknown>;
  annotations?: Record<string, unknown>;
  title?: string;
  outputSchema?: Record<string, unknown>;
}

/** Keeps the known fields with the right types; `inputSchema` is always an object. */
export function normaliseTool(tool: { name: string; description?: string; inputSchema?: unknown; annotations?: unknown; title?: string; outputSchema?: unknown }): McpToolInfo {
  const info: McpToolInfo = {
    name: tool.name,
    description: typeof tool.description === 'string' ? tool.description : '',
    inputSchema: isPlainObject(tool.inputSchema) ? tool.inputSchema : { type: 'object' },
  };
  if (isPlainObject(tool.annotations)) info.annotations = tool.annotations;
  if (typeof tool.title === 'string') info.title = tool.title;
  if (isPlainObject(tool.outputSchema)) info.outputSchema = tool.outputSchema;
  return info;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return !!value && typeof value === 'object' && !Array.isArray(value);
}
