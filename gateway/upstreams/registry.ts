/** All configured upstreams by name, started together, closed together. */
import type { UpstreamConfig } from './config.js';
import { Upstream } from './upstream.js';
import type { UpstreamHealth, UpstreamHooks } from './upstream.js';

export class UpstreamRegistry {
  private readonly upstreams: Map<string, Upstream>;

  constructor(configs: Readonly<Record<string, UpstreamConfig>>, baseDir: string, hooks: UpstreamHooks) {
    this.upstreams = new Map(Object.entries(configs).map(([name, config]) => [name, new Upstream(name, config, baseDir, hooks)]));
  }

  get(name: string): Upstream | undefined {
    return this.upstreams.get(name);
  }

  names(): string[] {
    return [...this.upstreams.keys()];
  }

  /** Starts every upstream; one failing does not stop the others (it keeps retrying). */
  async startAll(): Promise<void> {
    await Promise.allSettled([...this.upstreams.values()].map((u) => u.start()));
  }

  health(): UpstreamHealth[] {
    return [...this.upstreams.values()].map((u) => u.health());
  }

  allReady(): boolean {
    return [...this.upstreams.values()].every((u) => u.health().state === 'ready');
  }

  /** An agent session ended: every upstream session opened for it ends too. */
  endSession(session: string): void {
    for (const upstream of this.upstreams.values()) upstream.endSession(session);
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.upstreams.values()].map((u) => u.close()));
  }
}
