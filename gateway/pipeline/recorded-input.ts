/**
 * The policy input on a decision record, both ways: what the audit stage
 * records (the input less the arguments, which the record keeps apart,
 * redacted as the policy asked, less a tool result and the time), and the
 * input `policy replay` rebuilds from a record. A record is re-decided only
 * when it is faithful: its input and its arguments hash as they did before
 * sanitizing, i.e. nothing in them was redacted or cut.
 */
import { argumentsDigest } from '../audit/index.js';
import type { DecisionEvent, DecisionRecord, RecordedInput } from '../audit/index.js';
import type { PolicyInput } from '../policy/engine/decision.js';
import { redactJson } from '../sanitize/json.js';

/** The `input` and `input_digest` members of a decision event. */
export function recordedInput(input: PolicyInput): Pick<DecisionEvent, 'input' | 'input_digest'> {
  const { arguments: _arguments, result: _result, ...message } = input.message;
  const recorded: RecordedInput = { agent: input.agent, message };
  const digest = argumentsDigest(input.tool === undefined ? recorded : { ...recorded, tool: input.tool });
  // Annotations come from the upstream, free-form: keys and values are redacted like arguments.
  if (input.tool !== undefined) recorded.tool = { ...input.tool, annotations: redactJson(input.tool.annotations).value as Record<string, unknown> };
  return { input: recorded, input_digest: digest };
}

export type Replayable = { input: PolicyInput } | { skipped: 'redacted' | 'without_input' };

/**
 * Where the input's arguments are on the record, as the decide stage took
 * them (policy-input.ts) and the audit stage recorded them (audit.ts):
 * tools/call and a server's request carry them as `arguments`, prompts/get
 * inside it, a listing check or any other method has none.
 */
function inputArguments(record: DecisionRecord, message: RecordedInput['message']): unknown {
  if (message.listing === true) return undefined;
  if (message.method === 'tools/call') return record.arguments ?? {};
  if (message.method === 'prompts/get') return (record.arguments as { arguments?: unknown } | undefined)?.arguments ?? {};
  return message.direction === 'response' ? record.arguments : undefined;
}

/** The input a decision record was decided on, or why it cannot be decided again faithfully. */
export function replayInput(record: DecisionRecord): Replayable {
  const recorded = record.input;
  if (recorded === undefined || record.input_digest === undefined) return { skipped: 'without_input' };
  if (argumentsDigest(recorded) !== record.input_digest) return { skipped: 'redacted' };
  if (record.arguments !== undefined && argumentsDigest(record.arguments) !== record.args_digest) return { skipped: 'redacted' };
  const message: PolicyInput['message'] = { ...recorded.message };
  const args = inputArguments(record, recorded.message);
  if (args !== undefined) message.arguments = args;
  const input: PolicyInput = { agent: recorded.agent, message, context: { time_ns: Date.parse(record.ts) * 1_000_000 } };
  if (record.session !== undefined) input.context.session = record.session;
  if (recorded.tool !== undefined) input.tool = recorded.tool;
  return { input };
}
