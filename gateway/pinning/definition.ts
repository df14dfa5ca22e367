import { createHash } from 'node:crypto';
import { canonicalJson } from '../util/canonical-json.js';

/** The part of an MCP tool that is pinned: what an agent reads and how it calls it. */
export interface ToolDefinition {
  name: string;
  description?: string;
  inputSchema: Record<string, unknown>;
  annotations?: Record<string, unknown>;
}

/**
 * Extracts the pinned fields from one entry of a tools/list result; anything
 * else the server sends (e.g. outputSchema, _meta) passes through unpinned.
 * Returns undefined for an entry that is not a tool.
 */
export function toolDefinitionOf(entry: unknown): ToolDefinition | undefined {
  if (entry === null || typeof entry !== 'object') return undefined;
  const { name, description, inputSchema, annotations } = entry as Record<string, unknown>;
  if (typeof name !== 'string' || name === '') return undefined;
  if (inputSchema === null || typeof inputSchema !== 'object' || Array.isArray(inputSchema)) return undefined;
  const definition: ToolDefinition = { name, inputSchema: inputSchema as Record<string, unknown> };
  if (typeof description === 'string') definition.description = description;
  if (annotations !== null && typeof annotations === 'object' && !Array.isArray(annotations)) {
    definition.annotations = annotations as Record<string, unknown>;
  }
  return definition;
}

/** SHA-256 (hex) of the RFC 8785 canonical JSON of the definition. */
export function definitionHash(definition: ToolDefinition): string {
  return createHash('sha256').update(canonicalJson(definition)).digest('hex');
}
