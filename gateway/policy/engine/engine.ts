/**
 * The policy engine: one compiled policy (OPA-ABI WebAssembly) loaded through
 * the unmodified @open-policy-agent/opa-wasm loader, asked once per message.
 *
 * Fail closed: a trap, a thrown error, an undefined or malformed result, or an
 * input that is not plain JSON is a deny. The logged reason never contains
 * input values (only error classes, fixed trap texts and OPA error codes).
 */
import { compileWasm, isWasmTrap, loadPolicySync } from './opa-loader.js';
import type { CompiledWasm, LoadedPolicy } from './opa-loader.js';
import { DECISION_ENTRYPOINT } from './decision.js';
import type { Decision, PolicyDecider, PolicyInput, RevisedDecision } from './decision.js';
import { parseDecision } from './decision-shape.js';
import { inputBytes, serialiseInput } from './strict-json.js';
import { DecisionCache } from './decision-cache.js';
import { policyBuiltins } from './loader-builtins.js';
import { InputProjection } from './input-projection.js';
import { requiredMemoryPages } from '../wasm/link.js';

/** Loader host functions by built-in name (the loader's customBuiltins). */
// The loader calls these with plain JSON values and expects JSON back; their
// signatures vary per built-in, so the loader's own type is Function.
export type LoaderBuiltins = Record<string, Function>;

/** WebAssembly pages (64 KiB each): the policy can never use more than `maximum`. */
export interface MemoryBounds {
  initial: number;
  maximum: number;
}

export const DEFAULT_MEMORY: MemoryBounds = { initial: 16, maximum: 512 };

/** A sanitized record of an evaluation that failed closed. */
export interface EngineFailure {
  revision: string;
  entrypoint: string;
  reason: string;
}

export interface EngineOptions {
  /** Identifies exactly which policy made a decision (see revision.ts). */
  revision: string;
  /** Base documents (`data`), e.g. the policy folder's data.json. */
  data?: unknown;
  /** Entry point that must exist and produce the Decision; default portcullis/decision. */
  entrypoint?: string;
  memory?: MemoryBounds;
  /** Extra loader built-ins, merged over the project's own (see loader-builtins.ts). */
  builtins?: LoaderBuiltins;
  /**
   * Called for every evaluation that failed closed, to be logged by the caller
   * (the engine writes nothing itself); without it the failure shows only as
   * the deny's reason.
   */
  onFailure?: (failure: EngineFailure) => void;
  /**
   * How many decisions of a pure policy to keep for reuse (decision-cache.ts);
   * default DEFAULT_DECISION_CACHE, 0 evaluates every time. Impure policies,
   * modules without an input record and engines with extra built-ins keep none.
   */
  decisionCache?: number;
}

export const DEFAULT_DECISION_CACHE = 1024;

/** Raised when a policy cannot be loaded at all; the caller keeps its previous policy. */
export class PolicyLoadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PolicyLoadError';
  }
}

/** Raised by evaluate(); `reason` is safe to log. */
export class PolicyEvaluationError extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'PolicyEvaluationError';
  }
}

const DENY_REASON = 'policy evaluation failed';

/**
 * Turns anything thrown during evaluation into a reason that cannot carry
 * input values: wasm traps have fixed texts, the runtime aborts with an OPA
 * error code first, everything else is reduced to its error class.
 */
export function sanitizeEvaluationError(err: unknown): string {
  if (isWasmTrap(err)) return `trap: ${err.message.slice(0, 80)}`;
  if (err instanceof RangeError) return 'memory limit exceeded';
  if (typeof err === 'string') {
    // opa_abort messages start with an OPA error code ("eval_conflict_error: ...").
    const code = /^([a-z_]{1,64})(?::|$)/.exec(err)?.[1];
    return code ? `abort: ${code}` : 'abort';
  }
  if (err instanceof Error) return `error: ${err.name}`;
  if (err !== null && typeof err === 'object' && typeof (err as { message?: unknown }).message === 'string') {
    // The loader throws { message: "not implemented: built-in function <id>: <name>" }: names only, no values.
    const message = (err as { message: string }).message;
    if (message.startsWith('not implemented: built-in function')) return message.slice(0, 160);
  }
  return 'error: unknown';
}

export class PolicyEngine implements PolicyDecider {
  readonly revision: string;
  readonly entrypoint: string;
  readonly entrypoints: readonly string[];
  private readonly module: CompiledWasm;
  private readonly memory: MemoryBounds;
  private readonly builtins: LoaderBuiltins;
  private readonly data: unknown;
  private readonly onFailure: (failure: EngineFailure) => void;
  /** The part of an input the policy can read, when the module records it (see input-projection.ts). */
  private readonly projection: InputProjection | undefined;
  /** Decisions by the text of the input the policy saw; only for pure policies. */
  private readonly cache: DecisionCache | undefined;
  /** Undefined after a failed evaluation: the next one starts from a fresh instance. */
  private policy: LoadedPolicy | undefined;

  /** Compiles and instantiates synchronously; throws PolicyLoadError on any problem. */
  constructor(wasm: Uint8Array, options: EngineOptions) {
    this.revision = options.revision;
    this.entrypoint = options.entrypoint ?? DECISION_ENTRYPOINT;
    const bounds = options.memory ?? DEFAULT_MEMORY;
    let required: number;
    try {
      required = requiredMemoryPages(wasm);
    } catch {
      throw new PolicyLoadError('invalid WebAssembly module: cannot read its memory import');
    }
    // The module's memory import declares a minimum; start there if it is above ours.
    this.memory = { initial: Math.max(bounds.initial, required), maximum: bounds.maximum };
    if (!(bounds.initial >= 1 && this.memory.maximum >= this.memory.initial)) {
      throw new PolicyLoadError(`memory bounds must satisfy 1 <= initial <= maximum (module needs ${required} pages)`);
    }
    this.builtins = { ...policyBuiltins(), ...options.builtins };
    // A copy: the data must stay what it was when decisions were kept, whatever the caller does with its own.
    try {
      this.data = structuredClone(options.data ?? {});
    } catch {
      throw new PolicyLoadError('policy data is not plain JSON');
    }
    this.onFailure = options.onFailure ?? (() => undefined);
    try {
      this.module = compileWasm(wasm);
    } catch (err) {
      throw new PolicyLoadError(`invalid WebAssembly module: ${err instanceof Error ? err.message : 'unknown error'}`);
    }
    this.projection = InputProjection.of(this.module);
    // A host's own built-ins may read the clock or the world: nothing is known to be pure then.
    const extraBuiltins = options.builtins !== undefined && Object.keys(options.builtins).length > 0;
    const cacheSize = options.decisionCache ?? DEFAULT_DECISION_CACHE;
    this.cache = this.projection?.pure === true && !extraBuiltins && cacheSize > 0 ? new DecisionCache(cacheSize) : undefined;
    const policy = this.instantiate();
    this.entrypoints = Object.keys(policy.entrypoints as Record<string, number>);
    if (!this.entrypoints.includes(this.entrypoint)) {
      throw new PolicyLoadError(`policy has no entrypoint "${this.entrypoint}" (has: ${this.entrypoints.join(', ') || 'none'})`);
    }
    this.policy = policy;
  }

  private instantiate(): LoadedPolicy {
    let policy: LoadedPolicy;
    try {
      policy = loadPolicySync(this.module, { ...this.memory }, this.builtins);
    } catch (err) {
      throw new PolicyLoadError(`policy module rejected by the loader: ${sanitizeEvaluationError(err)}`);
    }
    try {
      policy.setData(this.data as object);
    } catch (err) {
      throw new PolicyLoadError(`policy data rejected: ${sanitizeEvaluationError(err)}`);
    }
    return policy;
  }

  /** How many decisions are kept for reuse now. */
  get cachedDecisions(): number {
    return this.cache?.size ?? 0;
  }

  /** The input as the policy sees it (its readable part), as JSON text; throws PolicyEvaluationError. */
  private inputText(input: unknown): string {
    const serialised = serialiseInput(this.projection === undefined ? input : this.projection.apply(input));
    if (!serialised.ok) throw new PolicyEvaluationError(`input rejected: ${serialised.reason}`);
    return serialised.text;
  }

  private run(text: string | undefined, entrypoint: string): unknown {
    if (!this.entrypoints.includes(entrypoint)) throw new PolicyEvaluationError(`unknown entrypoint "${entrypoint}"`);
    try {
      this.policy ??= this.instantiate();
      return this.policy.evaluate(text === undefined ? undefined : inputBytes(text), entrypoint);
    } catch (err) {
      // The instance may be left mid-evaluation (globals, heap); never reuse it.
      this.policy = undefined;
      throw new PolicyEvaluationError(err instanceof PolicyLoadError ? err.message : sanitizeEvaluationError(err));
    }
  }

  /**
   * Evaluates any entrypoint and returns the loader's result set
   * (`[{ result }]`, or `[]` when undefined). Throws PolicyEvaluationError.
   */
  evaluate(input: unknown, entrypoint: string = this.entrypoint): unknown {
    // `undefined` means "no input document" (Rego unit tests run so); anything else must be plain JSON.
    return this.run(input === undefined ? undefined : this.inputText(input), entrypoint);
  }

  /** The decision on `input`; never throws. Decisions of a pure policy are shared: do not modify them. */
  decide(input: PolicyInput): RevisedDecision {
    if (input === undefined) return this.deny('input rejected: no input');
    let resultSet: unknown;
    let text: string;
    try {
      text = this.inputText(input);
      const cached = this.cache?.get(text);
      if (cached !== undefined) return cached;
      resultSet = this.run(text, this.entrypoint);
    } catch (err) {
      return this.deny(err instanceof PolicyEvaluationError ? err.reason : sanitizeEvaluationError(err));
    }
    if (!Array.isArray(resultSet) || resultSet.length === 0) return this.deny('decision undefined');
    if (resultSet.length !== 1) return this.deny('decision has more than one result');
    const parsed = parseDecision((resultSet[0] as { result?: unknown } | null)?.result);
    if (typeof parsed === 'string') return this.deny(`malformed decision: ${parsed}`);
    const decision: RevisedDecision = { ...parsed, revision: this.revision };
    return this.cache === undefined ? decision : this.cache.keep(text, decision);
  }

  private deny(reason: string): RevisedDecision {
    try {
      this.onFailure({ revision: this.revision, entrypoint: this.entrypoint, reason });
    } catch {
      // A failing log hook must not turn a deny into a throw.
    }
    const decision: Decision = { allow: false, reasons: [DENY_REASON] };
    return { ...decision, revision: this.revision };
  }
}
