/** Opens the `state` section's backend: nothing to open for memory, a Redis connection for redis. */
import { hostname } from 'node:os';
import type { LogSink } from '../util/log.js';
import { AGENT_NAME } from '../util/agent-name.js';
import type { StateConfig } from './config.js';
import { RedisState } from './redis.js';

/** The variable that names this replica when state.replica_id does not (a pod name, a container name). */
export const REPLICA_ID_VARIABLE = 'PORTCULLIS_REPLICA_ID';

/** This replica's name: state.replica_id, else $PORTCULLIS_REPLICA_ID, else the host name. */
export function replicaIdOf(config: StateConfig, env: NodeJS.ProcessEnv = process.env): string {
  const id = config.replica_id ?? env[REPLICA_ID_VARIABLE] ?? hostname();
  if (!AGENT_NAME.test(id)) throw new Error(`replica id "${id}": use 1-64 letters, digits, '.', '_' or '-' (state.replica_id or ${REPLICA_ID_VARIABLE})`);
  return id;
}

/** The shared state of `config`, or undefined for memory (each feature keeps its own state in this process). */
export async function openState(config: StateConfig, log: LogSink, env: NodeJS.ProcessEnv = process.env): Promise<RedisState | undefined> {
  if (config.backend === 'memory') return undefined;
  if (config.url === undefined) throw new Error('portcullis.yaml: state.url is required with backend redis');
  return RedisState.open({ ...config, url: config.url }, env, log);
}
