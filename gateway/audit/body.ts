/**
 * What a record says about an event: its fields as JSON text, every string
 * sanitized, raw arguments replaced by their digest and a redacted copy. The
 * text is built once, in the caller's turn, and sealed as is (chain.ts).
 *
 * The members of decision and outcome events that the event schema defines
 * down to their last key (SCHEMA_MEMBERS) hold only strings, numbers and the
 * schema's own keys: their strings are sanitized during serialisation (no
 * sanitized copy of the event), and a string seen before (agent, server,
 * tool, reasons, revision repeat from call to call) reuses its sanitized
 * text. Everything free-form (arguments, any other member, control details)
 * goes through redactJson whole: keys, secret-named keys, policy paths.
 */
import { redactJson } from '../sanitize/json.js';
import { sanitizeString, type Findings } from '../sanitize/text.js';
import { argumentsDigest } from './chain.js';
import type { AuditEvent, DecisionEvent, RecordEnvelope } from './events.js';

export interface RecordBody {
  type: RecordEnvelope['type'];
  /** A JSON object's text: the record's fields after the envelope, in order. */
  json: string;
  /** What redaction found in the event, by detector. */
  redactions: Findings;
}

interface Sanitized {
  text: string;
  found: Findings | undefined;
}

/** Distinct strings remembered (then forgotten all at once); longer strings are not remembered. */
const MEMO_ENTRIES = 4096;
const MEMO_MAX_LENGTH = 512;

/** Members of call events whose every key the schema (events.ts) fixes. */
const SCHEMA_MEMBERS = new Set([
  'call_id', 'agent', 'session', 'server', 'method', 'tool', 'hold_id',
  'decision', 'reasons', 'revision', 'classification', 'latency_ms', 'outcome', 'error',
]);
/** Members that never reach the record as they are: the envelope's type, raw arguments and the policy's redact list. */
const NOT_COPIED = new Set(['type', 'arguments', 'redact']);

function addFindings(into: Findings, found: Findings): void {
  for (const kind in found) into[kind] = (into[kind] ?? 0) + (found[kind] as number);
}

/** Members (a JSON object's text without its braces) appended to a JSON object's text. */
function withMembers(json: string, members: string): string {
  if (members === '') return json;
  return json.length > 2 ? `${json.slice(0, -1)},${members}}` : `{${members}}`;
}

/** The members of a call event outside the schema's fixed ones (e.g. the policy input), if any. */
function freeMembers(event: object): Record<string, unknown> | undefined {
  let free: Record<string, unknown> | undefined;
  for (const [key, value] of Object.entries(event)) {
    if (value === undefined || SCHEMA_MEMBERS.has(key) || NOT_COPIED.has(key)) continue;
    (free ??= {})[key] = value;
  }
  return free;
}

/** `args_digest`, `arguments` (redacted) and, when something was taken out, `redactions`. */
function argumentMembers(event: DecisionEvent, maxLength: number, redactions: Findings): string {
  const digest = argumentsDigest(event.arguments);
  const stored = redactJson(event.arguments, { maxLength, redact: event.redact ?? [] });
  addFindings(redactions, stored.found);
  const members = `"args_digest":"${digest}","arguments":${JSON.stringify(stored.value)}`;
  // In the record: what was taken out of the stored arguments.
  return Object.keys(stored.found).length > 0 ? `${members},"redactions":${JSON.stringify(stored.found)}` : members;
}

/**
 * The body builder of one log. Throws a TypeError when the arguments are not
 * JSON (a BigInt, a non-finite number): there is no digest to guess.
 */
export function recordBodies(maxLength: number): (event: AuditEvent) => RecordBody {
  const memo = new Map<string, Sanitized>();
  // The event being serialised and what its strings gave up so far, read by the replacer.
  let root: object | undefined;
  let findings: Findings = {};

  const sanitize = (value: string): string => {
    const known = memo.get(value);
    if (known !== undefined) {
      if (known.found !== undefined) addFindings(findings, known.found);
      return known.text;
    }
    const found: Findings = {};
    const text = sanitizeString(value, found, { maxLength });
    addFindings(findings, found);
    if (value.length <= MEMO_MAX_LENGTH) {
      if (memo.size >= MEMO_ENTRIES) memo.clear();
      memo.set(value, { text, found: Object.keys(found).length > 0 ? found : undefined });
    }
    return text;
  };

  function replacer(this: unknown, key: string, value: unknown): unknown {
    if (this === root && !SCHEMA_MEMBERS.has(key)) return undefined;
    switch (typeof value) {
      case 'string':
        return sanitize(value);
      case 'number':
        // As redactJson: a non-finite number is kept as text rather than turned into null.
        return Number.isFinite(value) ? value : String(value);
      case 'bigint':
        return value.toString();
      default:
        return value;
    }
  }

  return (event) => {
    if (event.type === 'event') {
      const { value, found } = redactJson(event, { maxLength });
      const { type: _type, ...fields } = value as Record<string, unknown>;
      return { type: event.type, json: JSON.stringify(fields), redactions: found };
    }
    root = event;
    findings = {};
    let json: string;
    try {
      json = JSON.stringify(event, replacer);
    } finally {
      root = undefined;
    }
    const redactions = findings;
    const free = freeMembers(event);
    if (free !== undefined) {
      const { value, found } = redactJson(free, { maxLength });
      addFindings(redactions, found);
      json = withMembers(json, JSON.stringify(value).slice(1, -1));
    }
    if (event.type === 'decision' && event.arguments !== undefined) json = withMembers(json, argumentMembers(event, maxLength, redactions));
    return { type: event.type, json, redactions };
  };
}
