/**
 * Runs and transcripts as text for a terminal: the live view of a run's DAG
 * (one line per task: status, elapsed, what it does now), status lines for
 * logs, history lines, and a transcript told entry by entry. Every value
 * that came from a model or a tool goes through the sanitizer: the terminal
 * stays inert.
 */
import { sanitizeText } from '../../gateway/client/index.js';
import type { TranscriptEntry } from '../run/transcript.js';
import type { RunView, TaskView } from './progress.js';

function safe(value: unknown, maxLength = 300): string {
  return sanitizeText(typeof value === 'string' ? value : JSON.stringify(value) ?? '', { maxLength });
}

export function seconds(ms: number | undefined): string {
  return ms === undefined ? '' : `${(ms / 1000).toFixed(1)}s`;
}

function taskLine(task: TaskView): string {
  const deps = task.depends_on.length === 0 ? '' : ` after ${task.depends_on.join(', ')}`;
  const doing = task.activity === undefined ? '' : `  ${safe(task.activity, 120)}`;
  return `  ${task.id.padEnd(12)} ${task.agent.padEnd(12)} ${task.status.padEnd(17)} ${seconds(task.elapsed_ms).padStart(7)}${doing}${deps}`;
}

/** The whole view: a heading, then one line per task (redrawn in place on a terminal). */
export function viewLines(view: RunView): string[] {
  const doing = view.activity === undefined ? '' : `: ${safe(view.activity, 120)}`;
  return [
    `run ${view.id}  ${view.agent}  ${view.status} (${view.phase}${doing})  ${seconds(view.elapsed_ms)}`,
    ...view.tasks.map(taskLine),
  ];
}

/** What changed between two views, one plain line each (logs, pipes). */
export function changeLines(before: RunView | undefined, after: RunView): string[] {
  const lines: string[] = [];
  const at = `[${seconds(after.elapsed_ms)}]`;
  if (before?.phase !== after.phase || before.activity !== after.activity) {
    if (after.phase !== 'ended') lines.push(`${at} ${after.phase}${after.activity === undefined ? '' : `: ${safe(after.activity, 120)}`}`);
  }
  const earlier = new Map((before?.tasks ?? []).map((task) => [task.id, task]));
  for (const task of after.tasks) {
    const old = earlier.get(task.id);
    if (old === undefined && before?.tasks.length === 0) lines.push(`${at} planned ${task.id} (${task.agent})${task.depends_on.length === 0 ? '' : ` after ${task.depends_on.join(', ')}`}`);
    if (old?.status !== task.status || old.activity !== task.activity) {
      if (task.status === 'waiting') continue;
      const doing = task.activity === undefined ? task.status : safe(task.activity, 120);
      lines.push(`${at} ${task.id} (${task.agent}): ${doing}`);
    }
  }
  if (after.phase === 'ended' && before?.phase !== 'ended') lines.push(`${at} run ${after.status}${after.error === undefined ? '' : `: ${safe(after.error)}`}`);
  return lines;
}

/** One line per run, for `portcullis agents runs`. */
export function historyLine(view: RunView): string {
  return `${view.id}  ${view.agent.padEnd(12)} ${view.status.padEnd(10)} ${seconds(view.elapsed_ms).padStart(8)}  ${view.tasks.length} tasks  ${safe(view.task, 80)}`;
}

function tokens(entry: TranscriptEntry): string {
  return `${String(entry.input_tokens ?? 0)} in / ${String(entry.output_tokens ?? 0)} out tokens`;
}

/** One transcript entry as a line (or a few), for `portcullis agents show`. */
export function entryLines(entry: TranscriptEntry): string[] {
  const time = typeof entry.at === 'string' ? entry.at.slice(11, 23) : '';
  const task = typeof entry.task === 'string' ? `[${entry.task}] ` : '';
  const say = (text: string): string[] => [`${time} ${task}${text}`];
  switch (entry.type) {
    case 'run_start':
      return say(`run started by ${safe(entry.orchestrator)}: ${safe(entry.task, 2000)}`);
    case 'plan': {
      const tasks = Array.isArray(entry.tasks) ? (entry.tasks as Array<Record<string, unknown>>) : [];
      return [
        ...say(`plan (attempt ${String(entry.attempt)}): ${tasks.length} tasks`),
        ...tasks.map((t) => `    ${safe(t.id)} -> ${safe(t.agent)}${Array.isArray(t.depends_on) && t.depends_on.length > 0 ? ` after ${safe(t.depends_on.join(', '))}` : ''}: ${safe(t.task, 200)}`),
      ];
    }
    case 'plan_refused':
      return say(`plan refused (attempt ${String(entry.attempt)}): ${safe(entry.error)}`);
    case 'llm_attempt':
      return say(`${safe(entry.provider)}/${safe(entry.model)} attempt ${String(entry.attempt)}: ${safe(entry.outcome)} in ${String(entry.latency_ms)} ms${entry.reason === undefined ? '' : ` (${safe(entry.reason)})`}`);
    case 'llm_retry':
      return say(`retry ${safe(entry.provider)}/${safe(entry.model)} in ${String(entry.wait_ms)} ms: ${safe(entry.reason)}`);
    case 'llm_skipped':
      return say(`skipped ${safe(entry.provider)}/${safe(entry.model)}: ${safe(entry.reason)}`);
    case 'llm_failover':
      return say(`failover from ${safe(entry.provider)}/${safe(entry.model)}: ${safe(entry.reason)}`);
    case 'llm_exchange': {
      const calls = Array.isArray(entry.tool_calls) ? (entry.tool_calls as Array<Record<string, unknown>>) : [];
      return [
        ...say(`${safe(entry.agent)} turn ${String(entry.turn)} (${safe(entry.provider)}/${safe(entry.model)}, ${tokens(entry)})`),
        ...(typeof entry.text === 'string' && entry.text !== '' ? [`    says: ${safe(entry.text, 2000)}`] : []),
        ...calls.map((c) => `    asks ${safe(c.name)} ${safe(c.input, 500)} (${safe(c.id)})`),
      ];
    }
    case 'task_start':
      return say(`${safe(entry.agent)} starts, gateway session ${safe(entry.session ?? '-')}, tools: ${safe(Array.isArray(entry.tools) ? entry.tools.join(', ') : '', 500)}`);
    case 'tool_call': {
      const error = entry.error as { code?: unknown; message?: unknown } | undefined;
      const outcome = error === undefined ? safe(entry.outcome) : `${safe(entry.outcome)}: ${safe(error.message)} (${String(error.code)})`;
      const audit = entry.call_id === undefined ? '' : `, audit call ${safe(entry.call_id)}`;
      const hold = entry.hold_id === undefined ? '' : `, hold ${safe(entry.hold_id)}`;
      return [
        ...say(`${safe(entry.agent)} called ${safe(entry.tool)} (${safe(entry.tool_call_id)}): ${outcome} in ${String(entry.elapsed_ms)} ms`),
        `    arguments ${safe(entry.arguments, 500)}; session ${safe(entry.session ?? '-')}${audit}${hold}`,
      ];
    }
    case 'hold':
      return say(`${safe(entry.agent)} waits for approval of ${safe(entry.tool)}: hold ${safe(entry.hold_id)}${entry.console_url === undefined ? '' : ` (${safe(entry.console_url)})`}`);
    case 'task_end':
      return say(`${safe(entry.agent)} ended ${safe(entry.status)}${entry.reason === undefined ? '' : `: ${safe(entry.reason)}`} after ${String(entry.elapsed_ms)} ms`);
    case 'synthesis':
      return [...say(`synthesis ${safe(entry.status)}`), ...(typeof entry.answer === 'string' ? [`    ${safe(entry.answer, 10_000)}`] : [])];
    case 'run_end':
      return say(`run ended ${safe(entry.status)} after ${String(entry.elapsed_ms)} ms${entry.error === undefined ? '' : `: ${safe(entry.error)}`}`);
    default:
      return say(`${safe(entry.type)} ${safe(entry, 500)}`);
  }
}
