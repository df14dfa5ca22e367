import { createHash } from 'node:crypto';
import { canonicalJson } from '../util/canonical-json.js';

export interface HeldCall {
  server: string;
  method: string;
  tool?: string;
  arguments: unknown;
}

/** SHA-256 (hex) of the canonical JSON of the call: what an approval is bound to. */
export function callDigest(call: HeldCall): string {
  const bound = { server: call.server, method: call.method, tool: call.tool ?? null, arguments: call.arguments ?? null };
  return createHash('sha256').update(canonicalJson(bound)).digest('hex');
}
