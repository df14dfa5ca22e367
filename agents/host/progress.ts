/**
 * What a run looks like from outside while it goes and after it ended: its
 * tasks as a DAG with each one's status, elapsed time and current activity
 * (the tool it calls, the hold it waits for). Built from the run's
 * transcript entries and its status events, so a live run and a finished
 * one read back from its JSONL file give the same view.
 */
import type { TranscriptEntry } from '../run/transcript.js';

export type RunState = 'running' | 'done' | 'failed' | 'cancelled' | 'unfinished';

export interface TaskView {
  id: string;
  agent: string;
  depends_on: string[];
  /** waiting (for dependencies), running, or how it ended: done, skipped, failed, cancelled, budget_*. */
  status: string;
  /** What it does now (thinking, calling a tool, waiting for an approval). */
  activity?: string;
  started_at?: string;
  elapsed_ms?: number;
}

export interface RunView {
  id: string;
  /** The agent that leads the run (planner and synthesizer). */
  agent: string;
  task: string;
  status: RunState;
  started_at: string;
  ended_at?: string;
  elapsed_ms: number;
  /** planning, working, synthesizing, or ended. */
  phase: string;
  /** What the planner or synthesizer does now. */
  activity?: string;
  tasks: TaskView[];
  answer?: string;
  error?: string;
}

/** Statuses a task ends with (tool-loop statuses, failed, skipped). */
const ENDED = new Set(['done', 'skipped', 'failed', 'cancelled', 'budget_turns', 'budget_tokens', 'budget_wall_clock']);

function text(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

interface TaskState extends TaskView {
  startedMs?: number;
}

export class RunProgress {
  private readonly view: RunView;
  private readonly tasks = new Map<string, TaskState>();
  private startedMs: number;

  constructor(id: string, agent = '', task = '', startedAt = new Date()) {
    this.startedMs = startedAt.getTime();
    this.view = { id, agent, task, status: 'running', started_at: startedAt.toISOString(), elapsed_ms: 0, phase: 'planning', tasks: [] };
  }

  /** A view of a run read back from its transcript; without a run_end it is `unfinished` (running elsewhere, or stopped). */
  static fromEntries(id: string, entries: Iterable<TranscriptEntry>): RunProgress {
    const progress = new RunProgress(id);
    for (const entry of entries) progress.entry(entry);
    if (progress.view.status === 'running') progress.view.status = 'unfinished';
    return progress;
  }

  /** One transcript entry, as written. */
  entry(entry: TranscriptEntry): void {
    const at = text(entry.at);
    switch (entry.type) {
      case 'run_start':
        this.view.task = text(entry.task) ?? '';
        this.view.agent = text(entry.orchestrator) ?? '';
        if (at !== undefined) {
          this.view.started_at = at;
          this.startedMs = Date.parse(at);
        }
        break;
      case 'plan':
        for (const planned of Array.isArray(entry.tasks) ? (entry.tasks as Array<Record<string, unknown>>) : []) {
          const id = text(planned.id) ?? '';
          const deps = Array.isArray(planned.depends_on) ? planned.depends_on.filter((d): d is string => typeof d === 'string') : [];
          this.tasks.set(id, { id, agent: text(planned.agent) ?? '', depends_on: deps, status: 'waiting' });
        }
        this.view.phase = 'working';
        break;
      case 'task_start': {
        const task = this.tasks.get(text(entry.task) ?? '');
        if (task !== undefined && !ENDED.has(task.status)) {
          task.status = 'running';
          task.started_at ??= at;
          task.startedMs ??= at === undefined ? Date.now() : Date.parse(at);
        }
        break;
      }
      case 'task_end': {
        const task = this.tasks.get(text(entry.task) ?? '');
        if (task !== undefined) {
          task.status = text(entry.status) ?? 'failed';
          delete task.activity;
          if (typeof entry.elapsed_ms === 'number') task.elapsed_ms = entry.elapsed_ms;
        }
        break;
      }
      case 'hold':
        this.status(text(entry.task) ?? '', `waiting for approval: hold ${text(entry.hold_id) ?? '?'}`);
        break;
      case 'synthesis':
        if (typeof entry.answer === 'string' && entry.status === 'done') this.view.answer = entry.answer;
        break;
      case 'run_end':
        this.view.status = (text(entry.status) ?? 'failed') as RunState;
        this.view.phase = 'ended';
        delete this.view.activity;
        if (typeof entry.error === 'string') this.view.error = entry.error;
        if (at !== undefined) this.view.ended_at = at;
        if (typeof entry.elapsed_ms === 'number') this.view.elapsed_ms = entry.elapsed_ms;
        for (const task of this.tasks.values()) delete task.activity;
        break;
      default:
        break;
    }
  }

  /** A status event of the run (Run's onStatus): a task's activity or end, or the planner's and synthesizer's. */
  status(taskId: string, status: string): void {
    if (this.view.phase === 'ended') return;
    if (taskId === 'plan' || taskId === 'synthesis') {
      this.view.phase = taskId === 'plan' ? 'planning' : 'synthesizing';
      this.view.activity = status;
      return;
    }
    const task = this.tasks.get(taskId);
    if (task === undefined) return;
    if (ENDED.has(status)) {
      task.status = status;
      delete task.activity;
      if (task.startedMs !== undefined) task.elapsed_ms ??= Date.now() - task.startedMs;
      return;
    }
    if (task.status === 'waiting') {
      task.status = 'running';
      task.startedMs = Date.now();
      task.started_at = new Date(task.startedMs).toISOString();
    }
    task.activity = status;
  }

  get ended(): boolean {
    return this.view.phase === 'ended';
  }

  /** A copy of the view, elapsed times as of now for what still runs. */
  snapshot(now = Date.now()): RunView {
    const tasks = [...this.tasks.values()].map(({ startedMs, ...task }) => {
      const view: TaskView = { ...task, depends_on: [...task.depends_on] };
      if (view.elapsed_ms === undefined && startedMs !== undefined && !this.ended) view.elapsed_ms = now - startedMs;
      // A task the run never reached (a cancelled or failed run) did not wait to the end: it was skipped.
      if (this.ended && view.status === 'waiting') view.status = 'skipped';
      return view;
    });
    const elapsed = this.ended || this.view.status === 'unfinished' ? this.view.elapsed_ms : now - this.startedMs;
    return { ...this.view, elapsed_ms: elapsed, tasks };
  }
}
