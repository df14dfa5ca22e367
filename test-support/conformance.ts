/**
 * `npm run conformance`: runs OPA's Rego conformance cases through the
 * Portcullis compiler and the unmodified @open-policy-agent/opa-wasm loader.
 *
 *   node dist/test-support/conformance.js [--verbose] [--filter <category>]
 *
 * Cases come from ../shared/opa-conformance/cases (relative to the repository
 * root) or $OPA_CONFORMANCE_DIR. Each case runs in a worker thread with a time
 * limit, so a trap, crash or endless loop fails that case only.
 */
import { readdirSync, readFileSync, existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { inspect } from 'node:util';
import { Worker, isMainThread, parentPort } from 'node:worker_threads';
import { parse as parseYaml } from 'yaml';
import { loadPolicy } from '@open-policy-agent/opa-wasm';
import { compile } from '../gateway/policy/compile.js';
import { requiredMemoryPages } from '../gateway/policy/wasm/link.js';
import { hostBuiltinImports } from '../gateway/policy/builtins/index.js';

/** Time limit per case (compile + evaluate); CONFORMANCE_CASE_TIMEOUT_MS overrides it on slow machines. */
const CASE_TIMEOUT_MS = Number(process.env.CONFORMANCE_CASE_TIMEOUT_MS) || 10_000;

interface Case {
  note: string;
  query: string;
  modules?: string[];
  data?: unknown;
  input?: unknown;
  input_term?: string;
  want_result?: Array<Record<string, unknown>>;
  /** wasm-cases: whether the (bare expression) query has any solution. */
  want_defined?: boolean;
  want_error_code?: string;
  want_error?: string;
  strict_error?: boolean;
  sort_bindings?: boolean;
}

type Outcome = { status: 'pass' } | { status: 'fail'; reason: string } | { status: 'skip'; reason: string };

/**
 * How to evaluate a case's query:
 * - 'value': the query is `data.<rule> = <var>`; the rule is the entrypoint and its value the binding;
 * - 'rows': a wrapper rule collects the set of binding objects of the expected variables;
 * - 'defined': a wrapper rule is true when the query has a solution.
 */
type QueryPlan = { modules: Record<string, string>; entrypoint: string } & (
  | { kind: 'value'; binding: string }
  | { kind: 'rows'; bindings: string[] }
  | { kind: 'defined' }
);

const WRAPPER_PACKAGE = 'portcullis_conformance_query';
const WRAPPER_ENTRYPOINT = `${WRAPPER_PACKAGE}/result`;
const DATA_QUERY = /^\s*(data(?:\.[A-Za-z_][A-Za-z0-9_]*)+)\s*=\s*([A-Za-z_][A-Za-z0-9_]*)\s*$/;
const ROOTS = new Set(['input', 'data']);

function sourceModules(c: Case): Record<string, string> {
  const modules: Record<string, string> = {};
  (c.modules ?? []).forEach((m, i) => { modules[`module${i}.rego`] = m; });
  return modules;
}

/** `inputTerm`: a Rego term (not JSON) to evaluate the query with, as `with input as <term>`. */
function queryPlan(c: Case, inputTerm?: string): QueryPlan | string {
  const modules = sourceModules(c);
  const direct = DATA_QUERY.exec(c.query);
  if (c.want_defined === undefined && inputTerm === undefined && direct && !ROOTS.has(direct[2]!)) {
    const rulePath = direct[1]!.split('.').slice(1);
    if ((c.modules ?? []).some((m) => definesPrefix(m, rulePath))) {
      return { modules, entrypoint: rulePath.join('/'), kind: 'value', binding: direct[2]! };
    }
  }
  // The wrapper rule lives in data itself, so it cannot read the whole of data.
  if (/\bdata\b(?!\.)/.test(c.query)) return 'query reads the whole data document';
  if (inputTerm !== undefined && /[;\n]/.test(c.query.trim())) return 'input_term is not JSON and the query has several expressions';
  const body = inputTerm === undefined ? c.query.replace(/;/g, '\n') : `${c.query.trim()} with input as ${inputTerm}`;
  const bindings = [...new Set((c.want_result ?? []).flatMap((row) => Object.keys(row)))].sort();
  if (bindings.length === 0) {
    modules['query.rego'] = `package ${WRAPPER_PACKAGE}\n\nresult if {\n${body}\n}\n`;
    return { modules, entrypoint: WRAPPER_ENTRYPOINT, kind: 'defined' };
  }
  const row = bindings.map((b) => `${JSON.stringify(b)}: ${b}`).join(', ');
  modules['query.rego'] = `package ${WRAPPER_PACKAGE}\n\nresult contains {${row}} if {\n${body}\n}\n`;
  return { modules, entrypoint: WRAPPER_ENTRYPOINT, kind: 'rows', bindings };
}

/** Whether a module's package is a prefix of, or inside, the queried path (cheap, textual). */
function definesPrefix(source: string, rulePath: string[]): boolean {
  const pkg = /^\s*package\s+([A-Za-z0-9_.]+)/m.exec(source)?.[1]?.split('.');
  if (!pkg) return false;
  const n = Math.min(pkg.length, rulePath.length);
  if (pkg.slice(0, n).join('.') !== rulePath.slice(0, n).join('.')) return false;
  if (pkg.length >= rulePath.length) return true;
  const ruleName = rulePath[pkg.length]!;
  return new RegExp(`^${ruleName}\\b`, 'm').test(source);
}

/** Thrown values include loader strings and plain objects, not only Errors. */
function describe(err: unknown): string {
  if (err instanceof Error) return err.message;
  return typeof err === 'string' ? err : inspect(err, { depth: 3, breakLength: Infinity });
}

function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const entries = Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonical(x)}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

const sortedCanonical = (v: unknown): string =>
  Array.isArray(v) ? canonical(v.map(canonical).sort()) : canonical(v);

async function runCase(c: Case): Promise<Outcome> {
  // With strict_error the error is OPA's answer under strict built-in errors only; a case that also
  // gives want_result states the non-strict answer, which is the WebAssembly target's.
  const wantsError = (c.want_error_code !== undefined || c.want_error !== undefined) && !(c.strict_error && c.want_result !== undefined);
  if (!wantsError && c.want_result === undefined && c.want_defined === undefined) return { status: 'skip', reason: 'no expectation' };
  let input: unknown = c.input;
  let inputTerm: string | undefined;
  if (c.input_term !== undefined) {
    // The loader takes JSON input; other Rego terms (sets) go into the query instead.
    try { input = JSON.parse(c.input_term); } catch { inputTerm = c.input_term; }
  }
  const plan = queryPlan(c, inputTerm);
  if (typeof plan === 'string') return { status: 'skip', reason: plan };
  let results: Array<{ result: unknown }>;
  try {
    const wasm = compile({ modules: plan.modules, entrypoints: [plan.entrypoint] });
    const policy = await loadPolicy(wasm, { initial: requiredMemoryPages(wasm) }, hostBuiltinImports());
    if (c.data !== undefined) policy.setData(c.data as object);
    results = policy.evaluate(input);
  } catch (err) {
    if (wantsError) return { status: 'pass' };
    return { status: 'fail', reason: `error: ${describe(err)}` };
  }
  if (wantsError) {
    if (c.strict_error && results.length === 0) return { status: 'pass' };
    return { status: 'fail', reason: `expected error ${c.want_error_code ?? c.want_error}, got ${JSON.stringify(results)}` };
  }
  const want = c.want_result ?? (c.want_defined ? [{}] : []);
  const got = gotRows(plan, results);
  const show = c.sort_bindings ? sortedCanonical : canonical;
  const norm = (rows: Array<Record<string, unknown>>): string =>
    canonical(rows.map((r) => canonical(Object.keys(r).sort().map((k) => [k, show(r[k])]))).sort());
  if (norm(got) === norm(want)) return { status: 'pass' };
  return { status: 'fail', reason: `want ${JSON.stringify(want)}, got ${JSON.stringify(got)}` };
}

/** The result set as binding rows, like OPA's query results. */
function gotRows(plan: QueryPlan, results: Array<{ result: unknown }>): Array<Record<string, unknown>> {
  switch (plan.kind) {
    case 'value': return results.map((r) => ({ [plan.binding]: r.result }));
    case 'defined': return results.length > 0 ? [{}] : [];
    case 'rows': {
      const rows = results[0]?.result;
      return Array.isArray(rows) ? rows as Array<Record<string, unknown>> : [];
    }
  }
}

interface Job { category: string; c: Case }

function loadJobs(dir: string, filter: string | undefined): Job[] {
  const jobs: Job[] = [];
  for (const category of readdirSync(dir).sort()) {
    const catDir = path.join(dir, category);
    if ((filter !== undefined && !category.includes(filter)) || !statSync(catDir).isDirectory()) continue;
    for (const file of readdirSync(catDir).filter((f) => f.endsWith('.yaml')).sort()) {
      let doc: { cases?: Case[] } | null;
      try {
        doc = parseYaml(readFileSync(path.join(catDir, file), 'utf8')) as { cases?: Case[] } | null;
      } catch (err) {
        console.log(`  unreadable case file ${category}/${file}: ${describe(err)}`);
        continue;
      }
      for (const c of doc?.cases ?? []) jobs.push({ category, c });
    }
  }
  return jobs;
}

/** Runs jobs one at a time in a worker; a worker that times out or crashes is replaced. */
class CaseWorker {
  private worker!: Worker;
  /** Resolves once the worker has loaded its modules, so loading does not count against a case. */
  private ready!: Promise<void>;

  constructor() {
    this.spawn();
  }

  private spawn(): void {
    const worker = new Worker(fileURLToPath(import.meta.url));
    this.worker = worker;
    this.ready = new Promise((resolve) => worker.once('message', () => resolve()));
  }

  async run(c: Case): Promise<Outcome> {
    await this.ready;
    return new Promise((resolve) => {
      const worker = this.worker;
      const done = (o: Outcome): void => {
        clearTimeout(timer);
        worker.off('message', onMessage);
        worker.off('error', onError);
        resolve(o);
      };
      const onMessage = (o: Outcome): void => done(o);
      const onError = (err: Error): void => {
        this.spawn();
        done({ status: 'fail', reason: `worker crashed: ${err.message}` });
      };
      const timer = setTimeout(() => {
        void worker.terminate();
        this.spawn();
        done({ status: 'fail', reason: `timed out after ${CASE_TIMEOUT_MS} ms` });
      }, CASE_TIMEOUT_MS);
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.postMessage(c);
    });
  }

  close(): Promise<number> {
    return this.worker.terminate();
  }
}

/** The nearest directory above this file with a package.json (works from dist/ and from source). */
function repositoryRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json')) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return dir;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const verbose = args.includes('--verbose');
  const filterAt = args.indexOf('--filter');
  const filter = filterAt >= 0 ? args[filterAt + 1] : undefined;
  const root = repositoryRoot();
  const dir = process.env.OPA_CONFORMANCE_DIR ?? path.resolve(root, '../shared/opa-conformance/cases');
  if (!existsSync(dir)) {
    console.log(`conformance cases not found at ${dir}; skipping`);
    console.log('0 passed, 0 failed, 0 skipped');
    return;
  }
  const jobs = loadJobs(dir, filter);
  const workers = [new CaseWorker(), new CaseWorker()];
  const outcomes: Outcome[] = new Array<Outcome>(jobs.length);
  let next = 0;
  await Promise.all(workers.map(async (w) => {
    while (next < jobs.length) {
      const i = next++;
      outcomes[i] = await w.run(jobs[i]!.c);
    }
  }));
  await Promise.all(workers.map((w) => w.close()));
  const totals = { pass: 0, fail: 0, skip: 0 };
  const byCategory = new Map<string, typeof totals>();
  jobs.forEach((job, i) => {
    const o = outcomes[i]!;
    const cat = byCategory.get(job.category) ?? { pass: 0, fail: 0, skip: 0 };
    byCategory.set(job.category, cat);
    cat[o.status]++;
    totals[o.status]++;
    if (verbose && o.status !== 'pass') console.log(`  ${o.status.toUpperCase()} ${job.c.note}: ${o.reason}`);
  });
  for (const [category, t] of byCategory) console.log(`${category}: ${t.pass} passed, ${t.fail} failed, ${t.skip} skipped`);
  console.log(`${totals.pass} passed, ${totals.fail} failed, ${totals.skip} skipped`);
}

if (isMainThread) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
} else {
  parentPort?.postMessage('ready');
  parentPort?.on('message', (c: Case) => {
    runCase(c).then(
      (o) => parentPort?.postMessage(o),
      (err: unknown) => parentPort?.postMessage({ status: 'fail', reason: `runner error: ${String(err)}` }),
    );
  });
}
