/**
 * The gateway's answer to `initialize`: on /mcp/<server> it mirrors that
 * upstream (capabilities, serverInfo, instructions) so a client sees the
 * server it expects; on /mcp it describes the merged server.
 */
import { LATEST_PROTOCOL_VERSION, SUPPORTED_PROTOCOL_VERSIONS } from '@modelcontextprotocol/sdk/types.js';
import { GatewayError } from '../errors.js';
import type { Endpoint } from './context.js';
import type { UpstreamRegistry } from '../upstreams/registry.js';
import type { Params } from '../protocol/jsonrpc.js';

export const GATEWAY_SERVER_INFO = { name: 'portcullis', version: '0.1.0' };

/** The version the gateway speaks with a client that asked for `requested`. */
export function negotiateVersion(requested: unknown): string {
  return typeof requested === 'string' && SUPPORTED_PROTOCOL_VERSIONS.includes(requested) ? requested : LATEST_PROTOCOL_VERSION;
}

/** Capabilities the aggregated server offers: what at least one upstream offers. */
const MERGED = ['tools', 'prompts', 'resources', 'logging', 'completions'] as const;

export function initializeResult(endpoint: Endpoint, upstreams: UpstreamRegistry, protocolVersion: string): Params {
  if (endpoint.kind === 'server') {
    const upstream = upstreams.get(endpoint.server);
    if (upstream?.health().state !== 'ready') throw new GatewayError('upstreamUnavailable', endpoint.server);
    const result: Params = {
      protocolVersion,
      capabilities: upstream.capabilities,
      serverInfo: upstream.serverInfo ?? GATEWAY_SERVER_INFO,
    };
    if (upstream.instructions !== undefined) result.instructions = upstream.instructions;
    return result;
  }
  const capabilities: Params = {};
  for (const name of upstreams.names()) {
    const offered = upstreams.get(name)?.capabilities ?? {};
    for (const capability of MERGED) {
      if (offered[capability] !== undefined) capabilities[capability] = capability === 'logging' || capability === 'completions' ? {} : { listChanged: true };
    }
  }
  if (capabilities.resources !== undefined) capabilities.resources = { listChanged: true, subscribe: true };
  return { protocolVersion, capabilities, serverInfo: GATEWAY_SERVER_INFO };
}
