/**
 * The run host as the admin API sees it (edge/admin-runs.ts RunsControl):
 * the host's refusals become the registered error kinds, the full reason
 * (e.g. which variables to set) their details.
 */
import { RunRefusal } from '../../agents/host/manager.js';
import type { RefusalReason, RunManager } from '../../agents/host/manager.js';
import type { RunsControl } from '../edge/admin-runs.js';
import { GatewayError } from '../errors.js';
import type { ErrorName } from '../errors.js';

const KINDS: Record<RefusalReason, ErrorName> = {
  'unknown-agent': 'runAgentRefused',
  'not-a-leader': 'runAgentRefused',
  'no-provider': 'runNoProvider',
  'too-many-runs': 'runLimit',
  'not-found': 'runNotFound',
  ended: 'runEnded',
};

function refused<T>(act: () => T): T {
  try {
    return act();
  } catch (err) {
    if (err instanceof RunRefusal) throw new GatewayError(KINDS[err.reason], undefined, err.message);
    throw err;
  }
}

export function runsControl(host: RunManager): RunsControl {
  return {
    start: (agent, task, by) =>
      refused(() => {
        const { id } = host.start(agent, task, { by });
        return host.view(id) ?? { id, status: 'running' };
      }),
    cancel: (id, by) => refused(() => host.cancel(id, by)),
    view: (id) => host.view(id),
    list: (limit) => host.list(limit),
  };
}
