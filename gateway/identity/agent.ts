/**
 * Who is calling: the AgentInput the policy sees, derived from a verified
 * client certificate or JWT subject plus the roles the configuration gives
 * that agent name (none for names it does not know).
 */
import type { AgentInput } from '../policy/engine/decision.js';
import type { AgentConfig } from './config.js';
import { AGENT_NAME } from '../util/agent-name.js';

export type AgentIdentity = AgentInput;

/** The agent name inside spiffe://<trust-domain>/agent/<name>, when the id is one of ours. */
export function agentNameFromSpiffe(id: string, trustDomain: string): string | undefined {
  const prefix = `spiffe://${trustDomain}/agent/`;
  if (!id.startsWith(prefix)) return undefined;
  const name = id.slice(prefix.length);
  return AGENT_NAME.test(name) ? name : undefined;
}

export function rolesFor(agents: Readonly<Record<string, AgentConfig>>, name: string): string[] {
  return Object.hasOwn(agents, name) ? [...(agents[name]?.roles ?? [])] : [];
}

/**
 * The `jti` of the token an identity was proven with. Kept beside the
 * identity rather than in it: the identity is the policy's input, and a
 * per-token value there would only defeat the decision cache.
 */
const tokenIds = new WeakMap<AgentIdentity, string>();

export function withTokenId(identity: AgentIdentity, jti: string | undefined): AgentIdentity {
  if (jti !== undefined) tokenIds.set(identity, jti);
  return identity;
}

export function tokenIdOf(identity: AgentIdentity): string | undefined {
  return tokenIds.get(identity);
}
