/** Many idle MCP sessions to one HTTP peer, over one shared connection pool (sessions, not sockets, are counted). */
import { Pool } from 'undici';
import { LeanHttpClient } from './lean-client.js';
import type { Peer } from './peers.js';

export interface IdleSessions {
  count: number;
  close(): Promise<void>;
}

/** Opens `count` sessions (initialize + initialized), `parallel` at a time. */
export async function openIdleSessions(peer: Peer, count: number, parallel = 16): Promise<IdleSessions> {
  const endpoint = peer.endpoint;
  if (endpoint === undefined) throw new Error('idle sessions: the peer has no HTTP endpoint');
  const pool = new Pool(endpoint.url.origin, { connect: endpoint.tls, connections: parallel });
  const sessions: LeanHttpClient[] = [];
  const close = async (): Promise<void> => {
    for (const session of sessions.splice(0)) await session.close();
    await pool.close();
  };
  try {
    let opened = 0;
    const opener = async (): Promise<void> => {
      while (opened < count) {
        opened += 1;
        sessions.push(await LeanHttpClient.connect(endpoint.url, endpoint.tls, pool));
      }
    };
    await Promise.all(Array.from({ length: parallel }, opener));
  } catch (err) {
    await close();
    throw err;
  }
  return { count: sessions.length, close };
}
