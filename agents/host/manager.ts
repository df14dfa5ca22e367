/**
 * Runs hosted by one process (the appliance, or `portcullis agents run`):
 * starts a run of a leading agent (planner and synthesizer) on a task,
 * keeps its live view, cancels it on request, and lists live and recorded
 * runs. Refuses a run it cannot carry out before it starts: an unknown
 * agent, one that does not lead runs, models without a usable provider (the
 * refusal names the variables or files to set), too many runs at once.
 */
import type { AgentDefinition } from '../catalog/schema.js';
import type { ModelRouter } from '../providers/failover.js';
import { Run } from '../run/run.js';
import type { GatewayAccess } from '../run/run.js';
import { Transcript } from '../run/transcript.js';
import type { TranscriptEntry } from '../run/transcript.js';
import { newRunId, recordedRun, runHistory, transcriptFile } from './history.js';
import { RunProgress } from './progress.js';
import type { RunView } from './progress.js';

export type RefusalReason = 'unknown-agent' | 'not-a-leader' | 'no-provider' | 'too-many-runs' | 'not-found' | 'ended';

/** Why a run was not started or cancelled; the message says what to do. */
export class RunRefusal extends Error {
  constructor(
    readonly reason: RefusalReason,
    message: string,
  ) {
    super(message);
    this.name = 'RunRefusal';
  }
}

export interface HostOptions {
  definitions: ReadonlyMap<string, AgentDefinition>;
  router: ModelRouter;
  gateway: GatewayAccess;
  /** Where transcripts are written (one JSONL file per run). */
  runsDir: string;
  /** Workers of one run at once. */
  concurrency: number;
  /** Runs at once. */
  maxRuns: number;
  holdPollMs: number;
}

export interface StartedRun {
  id: string;
  /** The run's view once it has ended. */
  done: Promise<RunView>;
}

/** A transcript that also tells the live view each entry it writes. */
class ObservedTranscript extends Transcript {
  constructor(
    runId: string,
    file: string,
    private readonly observe: (entry: TranscriptEntry) => void,
  ) {
    super(runId, file);
  }

  override write(entry: TranscriptEntry): void {
    super.write(entry);
    const written = this.entries.at(-1);
    if (written !== undefined) this.observe(written);
  }
}

interface LiveRun {
  progress: RunProgress;
  transcript: Transcript;
  abort: AbortController;
  done: Promise<RunView>;
}

const leads = (d: AgentDefinition): boolean => d.roles.includes('planner') && d.roles.includes('synthesizer');
const works = (d: AgentDefinition): boolean => d.roles.some((role) => role === 'worker' || role === 'reviewer');

export class RunManager {
  private readonly live = new Map<string, LiveRun>();

  constructor(private readonly options: HostOptions) {}

  /** The agents that can lead a run. */
  leaders(): string[] {
    return [...this.options.definitions.values()].filter(leads).map((d) => d.name);
  }

  /** Why `agent` cannot lead a run now, or undefined. */
  refusal(agent: string): RunRefusal | undefined {
    const { definitions, router } = this.options;
    const leader = definitions.get(agent);
    if (leader === undefined) return new RunRefusal('unknown-agent', `no agent "${agent}" is defined (agents that lead runs: ${this.leaders().join(', ') || 'none'})`);
    if (!leads(leader)) return new RunRefusal('not-a-leader', `"${agent}" does not lead runs (it needs the planner and synthesizer roles; agents that do: ${this.leaders().join(', ') || 'none'})`);
    // Every agent the run may use: a worker without a usable model would fail mid-run, so say it now.
    const byProblem = new Map<string, string[]>();
    for (const definition of [leader, ...[...definitions.values()].filter(works)]) {
      const problem = router.unusable(definition.models);
      if (problem !== undefined) byProblem.set(problem, [...(byProblem.get(problem) ?? []), definition.name]);
    }
    if (byProblem.size === 0) return undefined;
    const lines = [...byProblem].map(([problem, agents]) => `${problem} (agents: ${agents.join(', ')})`);
    return new RunRefusal('no-provider', lines.join('; '));
  }

  /**
   * Starts a run; throws a RunRefusal when it cannot. `by` (who asked) goes
   * into the transcript; `onChange` hears every change of the run's view.
   */
  start(agent: string, task: string, options: { by?: string; onChange?: (view: RunView) => void } = {}): StartedRun {
    const refused = this.refusal(agent);
    if (refused !== undefined) throw refused;
    if (this.live.size >= this.options.maxRuns) throw new RunRefusal('too-many-runs', `${this.live.size} runs are going (at most ${this.options.maxRuns} at once)`);
    const o = this.options;
    const id = newRunId();
    const progress = new RunProgress(id, agent, task);
    const changed = (): void => options.onChange?.(progress.snapshot());
    const transcript = new ObservedTranscript(id, transcriptFile(o.runsDir, id), (entry) => {
      progress.entry(entry);
      changed();
    });
    if (options.by !== undefined) transcript.write({ type: 'run_request', by: options.by });
    const abort = new AbortController();
    const run = new Run({
      task,
      orchestrator: o.definitions.get(agent) as AgentDefinition,
      agents: o.definitions,
      router: o.router,
      gateway: o.gateway,
      transcript,
      signal: abort.signal,
      concurrency: o.concurrency,
      holdPollMs: o.holdPollMs,
      onStatus: (taskId, status) => {
        progress.status(taskId, status);
        changed();
      },
    });
    const done = run.execute().then(() => {
      this.live.delete(id);
      return progress.snapshot();
    });
    this.live.set(id, { progress, transcript, abort, done });
    return { id, done };
  }

  /** A live run's view, else the recorded one. */
  view(id: string): RunView | undefined {
    return this.live.get(id)?.progress.snapshot() ?? recordedRun(this.options.runsDir, id);
  }

  /** Cancels a live run: its model requests and tool calls in flight are cancelled (the upstream is told). */
  cancel(id: string, by: string): RunView {
    const run = this.live.get(id);
    if (run === undefined) {
      if (recordedRun(this.options.runsDir, id) !== undefined) throw new RunRefusal('ended', `run ${id} has already ended`);
      throw new RunRefusal('not-found', `no run ${id}`);
    }
    run.transcript.write({ type: 'run_cancel', by });
    run.abort.abort(new Error(`cancelled by ${by}`));
    return run.progress.snapshot();
  }

  /** Live runs, then the newest recorded ones, newest first; at most `limit`. */
  list(limit = 100): RunView[] {
    const live = [...this.live.values()].map((run) => run.progress.snapshot());
    const ids = new Set(live.map((run) => run.id));
    const recorded = runHistory(this.options.runsDir, limit).filter((run) => !ids.has(run.id));
    return [...live, ...recorded].sort((a, b) => (a.id < b.id ? 1 : -1)).slice(0, limit);
  }

  /** Cancels every live run and waits for them to end. */
  async close(): Promise<void> {
    const runs = [...this.live.values()];
    for (const run of runs) run.abort.abort(new Error('the host is shutting down'));
    await Promise.all(runs.map((run) => run.done));
  }
}
