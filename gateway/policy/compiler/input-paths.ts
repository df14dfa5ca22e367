/**
 * What a plan can observe. The runtime reaches `input` only through `ref`
 * literals headed by it, so the constant string prefix of every such ref
 * names a subtree the policy may see; everything outside all of them is
 * invisible to every rule. The engine passes only those subtrees
 * (input-projection.ts), which spares serialising and parsing the rest (agent
 * certificate details, tool annotations, ...) on every decision. A plan is
 * pure when it calls no built-in that depends on anything but its arguments
 * (the clock, randomness, the process) or has side effects (print, trace):
 * its decision is then a function of the projected input, and may be reused.
 *
 * Conservative by construction: a ref whose path starts with anything but a
 * constant string (`input[x]`, `input` itself), or any `with input...`
 * replacement, means the whole input may be read (null).
 */
import { BUILTIN_ARITY } from '../builtins/catalog.js';
import type { Lit, Plan, STerm } from './ir.js';

/** Name of the custom section in which the linker records the result (absent: pass the whole input, cache nothing). */
export const INPUT_PATHS_SECTION = 'portcullis.input_paths';

/** The section's payload. */
export interface InputRecord {
  paths: string[][];
  /** Same input, data and plan give the same decision, with no side effect: a decision may be reused. */
  pure: boolean;
}

/**
 * Built-ins whose result depends on more than their arguments (the clock,
 * randomness, the process), or that have side effects. Built-ins outside the
 * catalog (a host's own) count as impure too.
 */
const IMPURE_BUILTINS: ReadonlySet<string> = new Set([
  'time.now_ns', 'rand.intn', 'uuid.rfc4122', 'opa.runtime', 'print', 'trace', 'http.send', 'net.lookup_ip_addr',
  // Verify against the current time when no time is given; signatures may be randomised.
  'io.jwt.decode_verify', 'crypto.x509.parse_and_verify_certificates', 'io.jwt.encode_sign', 'io.jwt.encode_sign_raw',
  'providers.aws.sign_req',
]);

function pureBuiltin(name: string): boolean {
  return Object.hasOwn(BUILTIN_ARITY, name) && !IMPURE_BUILTINS.has(name);
}

/** The constant string keys a ref path starts with (it may read everything below them). */
function staticPrefix(path: readonly STerm[]): string[] {
  const prefix: string[] = [];
  for (const term of path) {
    if (term[0] !== 'c' || typeof term[1] !== 'string') break;
    prefix.push(term[1]);
  }
  return prefix;
}

/** The input paths the plan may read (shortest covering set, sorted) and its purity; null when it may read all of input. */
export function inputRecord(plan: Plan): InputRecord | null {
  const found: string[][] = [];
  let whole = false;
  let pure = plan.hostBuiltins.every(pureBuiltin);
  const visit = (lits: readonly Lit[]): void => {
    for (const lit of lits) {
      switch (lit[0]) {
        case 'call':
          if (lit[1][0] === 'native' && !pureBuiltin(lit[1][1])) pure = false;
          break;
        case 'ref':
          if (lit[1][0] === 'input') {
            const prefix = staticPrefix(lit[2]);
            if (prefix.length === 0) whole = true;
            else found.push(prefix);
          }
          break;
        case 'not':
          visit(lit[1]);
          break;
        case 'every':
          visit(lit[4]);
          break;
        case 'compr':
          visit(lit[3]);
          break;
        case 'with':
          if (lit[1].some((target) => target[0] === 'input')) whole = true;
          visit(lit[2]);
          break;
        default:
          break;
      }
    }
  };
  for (const group of plan.groups) {
    for (const def of group.defs) {
      visit(def.body);
      for (const branch of def.elses) visit(branch.body);
    }
  }
  return whole ? null : { paths: coveringPaths(found), pure };
}

/** Drops every path that another path is a prefix of (reading a subtree reads all below it), and duplicates. */
function coveringPaths(paths: string[][]): string[][] {
  const sorted = [...paths].sort((a, b) => a.length - b.length);
  const kept: string[][] = [];
  for (const path of sorted) {
    if (!kept.some((k) => k.every((key, i) => path[i] === key))) kept.push(path);
  }
  return kept.sort((a, b) => (a.join('\0') < b.join('\0') ? -1 : 1));
}
