/** Small JSON Schema fragments shared by the configuration sections. */
import { AGENT_NAME } from './agent-name.js';

/** A list of strings, empty by default. */
export const stringList = { type: 'array', items: { type: 'string' }, default: [] } as const;

/** Role names given to an agent (`agents`) or an approver (`holds.approvers`). */
export const roleList = { type: 'array', items: { type: 'string', minLength: 1 } } as const;

/** A map from agent-style names (AGENT_NAME) to entries of one shape, empty by default. */
export function byAgentName<Entry extends object>(entry: Entry) {
  return { type: 'object', default: {}, propertyNames: { pattern: AGENT_NAME.source }, additionalProperties: entry } as const;
}
