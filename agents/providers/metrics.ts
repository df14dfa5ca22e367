/**
 * Prometheus metrics of the orchestrator's model requests, fed by a router's
 * events: every attempt by provider and outcome, its latency, the tokens
 * used, failovers and skipped providers. Bound onto any prom-client registry
 * (the gateway's, when `portcullis start` hosts the orchestrator, so one
 * /metrics shows both). Labels stay bounded: a provider is one the
 * configuration names (else "other"), outcomes and skips a fixed set.
 */
import { Counter, Histogram } from 'prom-client';
import type { Registry } from 'prom-client';
import type { LlmEvent, ModelRouter } from './failover.js';

const OTHER = 'other';

interface LlmMetrics {
  requests: Counter<'provider' | 'outcome'>;
  seconds: Histogram<'provider'>;
  tokens: Counter<'provider' | 'type'>;
  failovers: Counter<'provider'>;
  skipped: Counter<'provider' | 'reason'>;
}

/** The registry's LLM metrics, registered on first use: several routers (or a rebind) share them. */
function llmMetrics(registry: Registry): LlmMetrics {
  const registers = [registry];
  const counter = <L extends string>(name: string, help: string, labelNames: L[]): Counter<L> =>
    (registry.getSingleMetric(name) as Counter<L> | undefined) ?? new Counter({ name, help, labelNames, registers });
  return {
    requests: counter('portcullis_llm_requests_total', 'Model requests (every attempt, retries included) by provider and outcome (ok, rate_limited, overloaded, server_error, timeout, connection_error, unreadable, refused, cancelled).', ['provider', 'outcome']),
    seconds:
      (registry.getSingleMetric('portcullis_llm_request_duration_seconds') as Histogram<'provider'> | undefined) ??
      new Histogram({
        name: 'portcullis_llm_request_duration_seconds',
        help: 'Time of one model request attempt, answered or failed.',
        labelNames: ['provider'],
        buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
        registers,
      }),
    tokens: counter('portcullis_llm_tokens_total', 'Tokens of answered model requests by provider and type (input, output).', ['provider', 'type']),
    failovers: counter('portcullis_llm_failovers_total', 'Requests moved on to the next model after this provider failed.', ['provider']),
    skipped: counter('portcullis_llm_skipped_total', 'Providers not asked, by reason (not_configured, circuit_open, no_key).', ['provider', 'reason']),
  };
}

/** Counts `router`'s requests on `registry`; returns the unsubscribe. */
export function bindLlmMetrics(router: ModelRouter, registry: Registry): () => void {
  const configured = new Set(router.providerNames);
  const label = (provider: string): string => (configured.has(provider) ? provider : OTHER);
  const m = llmMetrics(registry);
  return router.onEvent((event: LlmEvent) => {
    const provider = label(event.provider);
    switch (event.type) {
      case 'llm_attempt': {
        // Outcomes and skips are typed fixed sets (failure.ts, failover.ts).
        m.requests.inc({ provider, outcome: event.outcome === 'ok' ? 'ok' : (event.failure ?? OTHER) });
        m.seconds.observe({ provider }, event.latency_ms / 1000);
        if (event.input_tokens !== undefined) m.tokens.inc({ provider, type: 'input' }, event.input_tokens);
        if (event.output_tokens !== undefined) m.tokens.inc({ provider, type: 'output' }, event.output_tokens);
        return;
      }
      case 'llm_failover':
        m.failovers.inc({ provider });
        return;
      case 'llm_skipped':
        m.skipped.inc({ provider, reason: event.skip });
        return;
      case 'llm_retry':
        // Each retry is also an attempt, counted when it ends.
        return;
    }
  });
}
