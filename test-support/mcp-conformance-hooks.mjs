// Module hooks: the MCP conformance CLI imports `globSync` from `fs`, which
// Node 20 lacks; give that package (only) node:fs plus globSync.
const shim = new URL('./mcp-conformance-fs.mjs', import.meta.url).href;

export async function resolve(specifier, context, next) {
  const fromConformance = context.parentURL?.includes('/node_modules/@modelcontextprotocol/conformance/') ?? false;
  if (fromConformance && (specifier === 'fs' || specifier === 'node:fs')) return { url: shim, shortCircuit: true };
  return next(specifier, context);
}
