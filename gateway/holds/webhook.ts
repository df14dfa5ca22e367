import { request } from 'undici';
import type { HoldWebhookConfig } from './config.js';
import type { HoldEvent, HoldRecord } from './types.js';

/** Slack-compatible message: `text` is shown by Slack, Mattermost, Teams connectors and most chat hooks. */
export function webhookMessage(hold: HoldRecord, consoleUrl?: string): { text: string } {
  const target = hold.tool ? `${hold.server}/${hold.tool}` : `${hold.server} ${hold.method}`;
  const lines = [
    `Portcullis: approval needed for ${target}`,
    `Agent: ${hold.agent_name} (${hold.agent_id})`,
    `Hold: ${hold.id}, expires ${hold.expires_at}`,
  ];
  if (hold.reasons.length > 0) lines.push(`Reasons: ${hold.reasons.join('; ')}`);
  if (consoleUrl) lines.push(`Review: ${consoleUrl}`);
  // Arguments stay out of chat: even redacted, they belong in the console only.
  return { text: lines.join('\n') };
}

export type WebhookResult = { ok: true; status: number } | { ok: false; error: string };

/**
 * Posts a message for each proposed hold. Delivery is best effort and never
 * delays or changes the hold; each result goes to `onResult` (for logs and metrics).
 */
export function notifyWebhook(
  config: HoldWebhookConfig,
  consoleUrl: string | undefined,
  onResult: (hold: HoldRecord, result: WebhookResult) => void,
): (event: HoldEvent) => void {
  return (event) => {
    if (event.type !== 'proposed') return;
    const body = JSON.stringify(webhookMessage(event.hold, consoleUrl));
    request(config.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
      headersTimeout: config.timeout_ms,
      bodyTimeout: config.timeout_ms,
    })
      .then(async (res) => {
        await res.body.dump();
        const ok = res.statusCode >= 200 && res.statusCode < 300;
        onResult(event.hold, ok ? { ok: true, status: res.statusCode } : { ok: false, error: `HTTP ${res.statusCode}` });
      })
      // Only the error code: a webhook URL often embeds its secret, and messages may quote it.
      .catch((err: unknown) => onResult(event.hold, { ok: false, error: String((err as { code?: unknown }).code ?? 'request failed') }));
  };
}
