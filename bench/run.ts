/**
 * `npm run bench`: one run prints every figure the issues ask for, as tables
 * and as one JSON document (after the line "JSON:").
 *
 * - issue 2: tools/call (server-everything echo) p50/p99 and calls/s at
 *   concurrency 1 and 16: direct stdio, Portcullis (mTLS + default policy),
 *   supergateway --stateful; median of several interleaved runs; ratios.
 * - issue 3: default policy decision latency through the npm loader, compile time.
 * - issue 4: throughput with audit on vs off (same load).
 * - issue 5: the cost of each control (plain proxy, + policy, + audit, + inspection, all on).
 * - issue 16 (the headline): everything on (audit with fsync always included)
 *   against supergateway and against the same gateway with audit off, in the
 *   same rounds; the audit CPU per call; the gateway's RSS with idle sessions
 *   and under c=64; an HTTP upstream (direct, through Portcullis, through a
 *   plain proxy).
 * - issue 14: the orchestrator's overhead per tool step (bench/orchestration.ts).
 *
 * `--quick` runs a much smaller load (a smoke test of the bench itself).
 */
import os from 'node:os';
import { controlLadder, DEFAULT_SETUP, everythingOn } from './controls.js';
import type { ControlId, ControlStep } from './controls.js';
import { processCpuMs } from './cpu.js';
import { medianOf, runLoad } from './load.js';
import type { LoadResult } from './load.js';
import { peakRssMbDuring, processRssMb } from './memory.js';
import { connectDirect, connectHttpDirect, connectHttpProxy, connectPortcullis, connectSupergateway, startEverythingHttp } from './peers.js';
import type { Peer } from './peers.js';
import { DECISION_INPUTS, measureCompile, measureDecisions } from './policy.js';
import type { CompileFigures, DecisionFigures } from './policy.js';
import { openIdleSessions } from './sessions.js';
import { measureOrchestration, orchestrationReport } from './orchestration.js';
import { fixed, formatTable } from './table.js';

const quick = process.argv.includes('--quick');

// Each load run stops at its call count or its time cap, whichever comes first: the whole bench stays bounded.
const SCALE = quick
  ? { spineRuns: 1, controlRuns: 1, callsC1: 40, callsC16: 160, capMs: 2_000, warmup: 20, decisions: 500, decisionRuns: 1, compileRuns: 1, idleSessions: 50, callsC64: 320 }
  : { spineRuns: 7, controlRuns: 3, callsC1: 300, callsC16: 3_000, capMs: 4_000, warmup: 300, decisions: 20_000, decisionRuns: 3, compileRuns: 5, idleSessions: 1_000, callsC64: 6_000 };

const CONCURRENCY = [1, 16] as const;

interface AtConcurrency {
  c1: LoadResult;
  c16: LoadResult;
}

/**
 * One tools/call of server-everything's echo; anything but the echoed text
 * counts as a failed call. Every call echoes a message of its own, so no two
 * requests are the same: the policy decides each one afresh (a pure policy's
 * decisions are reused only for an identical input, see decision-cache.ts).
 */
let echoes = 0;
function echoCall(peer: Peer): () => Promise<void> {
  return async () => {
    const message = `bench-${++echoes}`;
    const result = await peer.client.request('tools/call', { name: 'echo', arguments: { message } });
    if (result.isError === true) throw new Error('echo returned a tool error');
    const [first] = Array.isArray(result.content) ? (result.content as Array<{ text?: unknown }>) : [];
    if (first?.text !== `Echo: ${message}`) throw new Error('echo answered something else');
  };
}

async function warm(peer: Peer): Promise<void> {
  const warmup = await runLoad(echoCall(peer), SCALE.warmup, 16);
  if (warmup.errors > 0) throw new Error(`warm-up calls failed: ${warmup.first_error ?? 'unknown error'}`);
}

/** One load run; for a proxy, also the CPU its process spent per call. */
async function measuredLoad(peer: Peer, total: number, concurrency: number): Promise<LoadResult> {
  const cpuBefore = peer.proxyPid === undefined ? undefined : processCpuMs(peer.proxyPid);
  const result = await runLoad(echoCall(peer), total, concurrency, SCALE.capMs);
  const cpuAfter = peer.proxyPid === undefined ? undefined : processCpuMs(peer.proxyPid);
  if (cpuBefore !== undefined && cpuAfter !== undefined && result.calls > 0) result.proxy_cpu_ms_per_call = (cpuAfter - cpuBefore) / result.calls;
  return result;
}

/** `runs` rounds; each round measures every peer at every concurrency, so drift hits all alike. */
async function measure(peers: readonly Peer[], runs: number): Promise<AtConcurrency[]> {
  const samples = peers.map(() => ({ c1: [] as LoadResult[], c16: [] as LoadResult[] }));
  for (let round = 0; round < runs; round++) {
    for (const [i, peer] of peers.entries()) {
      for (const concurrency of CONCURRENCY) {
        const total = concurrency === 1 ? SCALE.callsC1 : SCALE.callsC16;
        samples[i]?.[concurrency === 1 ? 'c1' : 'c16'].push(await measuredLoad(peer, total, concurrency));
      }
    }
  }
  return samples.map((s) => ({ c1: medianOf(s.c1), c16: medianOf(s.c16) }));
}

async function withPeers<T>(connects: readonly (() => Promise<Peer>)[], use: (peers: Peer[]) => Promise<T>): Promise<T> {
  const peers: Peer[] = [];
  try {
    for (const connect of connects) peers.push(await connect());
    for (const peer of peers) await warm(peer);
    return await use(peers);
  } finally {
    for (const peer of peers) await peer.close();
  }
}

interface SpineFigures {
  direct: AtConcurrency;
  portcullis: AtConcurrency;
  /** Everything on: mTLS, policy, inspection, pinning, validation, rate limits and the audit trail (fsync always). */
  everything_on: AtConcurrency;
  supergateway: AtConcurrency;
  portcullis_vs_supergateway_calls_per_s_c16: number;
  portcullis_added_p50_ms_c1: number;
  portcullis_added_p50_ms_c16: number;
  /** Proxy CPU per call, Portcullis / supergateway, at concurrency 16 (lower is cheaper). */
  portcullis_vs_supergateway_cpu_per_call_c16: number | undefined;
  everything_on_vs_supergateway_calls_per_s_c16: number;
  /** Everything on / the same gateway with audit off (the Portcullis row). */
  audit_on_vs_off_calls_per_s_c16: number;
  everything_on_p50_minus_supergateway_p50_ms_c1: number;
  /** Gateway CPU per call, everything on minus audit off, at concurrency 16. */
  audit_cpu_ms_per_call_c16: number | undefined;
}

function difference(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined || b === undefined ? undefined : a - b;
}

async function spine(): Promise<SpineFigures> {
  const [direct, portcullis, everything, supergateway] = await withPeers(
    [connectDirect, () => connectPortcullis(DEFAULT_SETUP), () => connectPortcullis(everythingOn()), connectSupergateway],
    (peers) => measure(peers, SCALE.spineRuns),
  );
  if (direct === undefined || portcullis === undefined || everything === undefined || supergateway === undefined) throw new Error('a peer produced no figures');
  return {
    direct,
    portcullis,
    everything_on: everything,
    supergateway,
    portcullis_vs_supergateway_calls_per_s_c16: portcullis.c16.calls_per_s / supergateway.c16.calls_per_s,
    portcullis_added_p50_ms_c1: portcullis.c1.p50_ms - direct.c1.p50_ms,
    portcullis_added_p50_ms_c16: portcullis.c16.p50_ms - direct.c16.p50_ms,
    portcullis_vs_supergateway_cpu_per_call_c16:
      portcullis.c16.proxy_cpu_ms_per_call === undefined || supergateway.c16.proxy_cpu_ms_per_call === undefined
        ? undefined
        : portcullis.c16.proxy_cpu_ms_per_call / supergateway.c16.proxy_cpu_ms_per_call,
    everything_on_vs_supergateway_calls_per_s_c16: everything.c16.calls_per_s / supergateway.c16.calls_per_s,
    audit_on_vs_off_calls_per_s_c16: everything.c16.calls_per_s / portcullis.c16.calls_per_s,
    everything_on_p50_minus_supergateway_p50_ms_c1: everything.c1.p50_ms - supergateway.c1.p50_ms,
    audit_cpu_ms_per_call_c16: difference(everything.c16.proxy_cpu_ms_per_call, portcullis.c16.proxy_cpu_ms_per_call),
  };
}

interface MemoryFigures {
  /** Gateway RSS (MiB), everything on, with one warmed-up session. */
  rss_mb_warm?: number;
  idle_sessions: number;
  rss_mb_idle_sessions?: number;
  /** Highest RSS during a c=64 load (with the idle sessions still open). */
  rss_mb_peak_c64?: number;
  c64: LoadResult;
}

/** The everything-on gateway's resident memory: warm, with SCALE.idleSessions idle sessions, and under c=64. */
async function memory(): Promise<MemoryFigures> {
  const setup = everythingOn({ listen: { port: 0, max_sessions_per_agent: SCALE.idleSessions + 64 } });
  return withPeers([() => connectPortcullis(setup)], async ([peer]) => {
    const pid = peer?.proxyPid;
    if (peer === undefined || pid === undefined) throw new Error('memory: no gateway process');
    const warmRss = processRssMb(pid);
    const sessions = await openIdleSessions(peer, SCALE.idleSessions);
    try {
      const idleRss = processRssMb(pid);
      let c64: LoadResult | undefined;
      const peak = await peakRssMbDuring(pid, async () => (c64 = await runLoad(echoCall(peer), SCALE.callsC64, 64, SCALE.capMs * 2)));
      if (c64 === undefined) throw new Error('memory: the c=64 load did not run');
      const figures: MemoryFigures = { idle_sessions: sessions.count, c64 };
      if (warmRss !== undefined) figures.rss_mb_warm = warmRss;
      if (idleRss !== undefined) figures.rss_mb_idle_sessions = idleRss;
      if (peak !== undefined) figures.rss_mb_peak_c64 = peak;
      return figures;
    } finally {
      await sessions.close();
    }
  });
}

interface HttpUpstreamFigures {
  direct: AtConcurrency;
  /** Everything on, the upstream over Streamable HTTP. */
  portcullis: AtConcurrency;
  proxy: AtConcurrency;
  portcullis_vs_direct_calls_per_s_c16: number;
  proxy_vs_direct_calls_per_s_c16: number;
}

/** server-everything over Streamable HTTP: direct, through Portcullis (everything on), through a plain proxy. */
async function httpUpstream(): Promise<HttpUpstreamFigures> {
  const upstream = await startEverythingHttp();
  try {
    const setup = everythingOn({ upstreams: { everything: { http: { url: upstream.url.href } } } });
    const [direct, portcullis, proxy] = await withPeers(
      [() => connectHttpDirect(upstream.url), () => connectPortcullis(setup), () => connectHttpProxy(upstream.url)],
      (peers) => measure(peers, SCALE.controlRuns),
    );
    if (direct === undefined || portcullis === undefined || proxy === undefined) throw new Error('an HTTP upstream peer produced no figures');
    return {
      direct,
      portcullis,
      proxy,
      portcullis_vs_direct_calls_per_s_c16: portcullis.c16.calls_per_s / direct.c16.calls_per_s,
      proxy_vs_direct_calls_per_s_c16: proxy.c16.calls_per_s / direct.c16.calls_per_s,
    };
  } finally {
    await upstream.stop();
  }
}

interface ControlFigures {
  id: ControlId;
  label: string;
  unavailable?: string;
  figures?: AtConcurrency;
}

/** Each distinct gateway setup is measured once; a step whose setup repeats an earlier one shares its figures. */
async function controls(): Promise<ControlFigures[]> {
  const out: ControlFigures[] = [];
  const measured = new Map<string, AtConcurrency>();
  for (const step of controlLadder()) {
    if (step.unavailable !== undefined) {
      out.push({ id: step.id, label: step.label, unavailable: step.unavailable });
      continue;
    }
    const key = JSON.stringify(step.setup);
    const figures = measured.get(key) ?? (await measureStep(step));
    measured.set(key, figures);
    out.push({ id: step.id, label: step.label, figures });
  }
  return out;
}

async function measureStep(step: ControlStep): Promise<AtConcurrency> {
  const [figures] = await withPeers([() => connectPortcullis(step.setup)], (peers) => measure(peers, SCALE.controlRuns));
  if (figures === undefined) throw new Error(`${step.label}: no figures`);
  return figures;
}

interface AuditFigures {
  off_calls_per_s_c16?: number;
  on_calls_per_s_c16?: number;
  /** on / off at concurrency 16. */
  ratio?: number;
  unavailable?: string;
}

/** Issue 4 from the same run as the ladder: "+ policy" and "+ policy + audit" differ only by the audit section. */
function auditCost(ladder: readonly ControlFigures[]): AuditFigures {
  const off = ladder.find((s) => s.id === 'policy');
  const on = ladder.find((s) => s.id === 'audit');
  if (on?.figures === undefined || off?.figures === undefined) return { unavailable: on?.unavailable ?? off?.unavailable ?? 'not measured' };
  const offCps = off.figures.c16.calls_per_s;
  const onCps = on.figures.c16.calls_per_s;
  return { off_calls_per_s_c16: offCps, on_calls_per_s_c16: onCps, ratio: onCps / offCps };
}

function loadRows(label: string, figures: AtConcurrency): string[][] {
  return CONCURRENCY.map((c) => {
    const r = c === 1 ? figures.c1 : figures.c16;
    return [label, String(c), String(r.calls), fixed(r.p50_ms, 3), fixed(r.p99_ms, 3), fixed(r.calls_per_s, 0), fixed(r.proxy_cpu_ms_per_call, 2), String(r.errors)];
  });
}

const LOAD_HEADERS = ['', 'concurrency', 'calls', 'p50 ms', 'p99 ms', 'calls/s', 'proxy CPU ms/call', 'errors'];

function decisionCells(d: DecisionFigures): string[] {
  return [fixed(d.p50_us, 1), fixed(d.p99_us, 1), fixed(d.evaluations_per_s, 0)];
}

interface PolicyDecisions {
  request: DecisionFigures;
  result: DecisionFigures;
}

const say = (text: string): void => void process.stdout.write(`${text}\n`);

/** A measured figure beside its target, and whether it meets it. */
function targetRow(label: string, value: number | undefined, digits: number, unit: string, target: string, met: boolean | undefined): string[] {
  return [label, `${fixed(value, digits)}${unit}`, target, met === undefined ? 'n/a' : met ? 'yes' : 'NO'];
}

const within = (value: number | undefined, limit: number): boolean | undefined => (value === undefined ? undefined : value <= limit);

/** Issue 16: the firewall as it runs, evidence on, against its targets; every ratio from peers measured in the same rounds. */
function headline(spineFigures: SpineFigures, mem: MemoryFigures, http: HttpUpstreamFigures): void {
  const all = spineFigures.everything_on;
  const sg = spineFigures.supergateway;
  say(`\n== headline: everything on (mTLS, policy, audit fsync always, inspection, pinning, validation, rate limits), median of ${SCALE.spineRuns} rounds ==`);
  say(
    formatTable(
      ['', 'measured', 'target', 'met'],
      [
        ['everything on, calls/s at c=16', fixed(all.c16.calls_per_s, 0), '', ''],
        targetRow('  / supergateway (same rounds)', spineFigures.everything_on_vs_supergateway_calls_per_s_c16, 2, 'x', '>= 2x', spineFigures.everything_on_vs_supergateway_calls_per_s_c16 >= 2),
        targetRow('  / audit off (same rounds)', spineFigures.audit_on_vs_off_calls_per_s_c16 * 100, 0, '%', '>= 85%', spineFigures.audit_on_vs_off_calls_per_s_c16 >= 0.85),
        targetRow('c=1 p50 minus supergateway p50', spineFigures.everything_on_p50_minus_supergateway_p50_ms_c1, 3, ' ms', '<= 0.3 ms', spineFigures.everything_on_p50_minus_supergateway_p50_ms_c1 <= 0.3),
        targetRow('audit CPU per call (on - off, c=16)', spineFigures.audit_cpu_ms_per_call_c16, 3, ' ms', '<= 0.05 ms', within(spineFigures.audit_cpu_ms_per_call_c16, 0.05)),
        targetRow(`gateway RSS, ${mem.idle_sessions} idle sessions`, mem.rss_mb_idle_sessions, 0, ' MiB', '<= 150 MiB', within(mem.rss_mb_idle_sessions, 150)),
        targetRow('gateway RSS, peak under c=64', mem.rss_mb_peak_c64, 0, ' MiB', '<= 200 MiB', within(mem.rss_mb_peak_c64, 200)),
        targetRow('HTTP upstream: Portcullis / direct, c=16', http.portcullis_vs_direct_calls_per_s_c16 * 100, 0, '%', '>= 85%', http.portcullis_vs_direct_calls_per_s_c16 >= 0.85),
      ],
    ),
  );
  say(`c=1 p50: everything on ${fixed(all.c1.p50_ms, 3)} ms, supergateway ${fixed(sg.c1.p50_ms, 3)} ms; warm gateway RSS ${fixed(mem.rss_mb_warm, 0)} MiB; c=64: ${fixed(mem.c64.calls_per_s, 0)} calls/s, ${mem.c64.errors} errors`);
  say('Calls/s depend on what else the machine runs; the ratios compare peers measured in the same rounds, and CPU per call holds on a busy machine.');
}

function report(host: Machine, spineFigures: SpineFigures, decisions: PolicyDecisions, compileFigures: CompileFigures, ladder: ControlFigures[], audit: AuditFigures, mem: MemoryFigures, http: HttpUpstreamFigures): void {
  say(`Portcullis bench: Node ${process.version}, ${host.cpus} CPUs, load average ${fixed(host.load_average_1m, 2)} at start`);
  headline(spineFigures, mem, http);
  say(
    `\n== tools/call echo (server-everything), median of ${SCALE.spineRuns} runs; up to ${SCALE.callsC1} calls at c=1, ${SCALE.callsC16} at c=16, ${SCALE.capMs / 1000} s each ==`,
  );
  say(
    formatTable(LOAD_HEADERS, [
      ...loadRows('direct stdio', spineFigures.direct),
      ...loadRows('Portcullis (mTLS + default policy)', spineFigures.portcullis),
      ...loadRows('Portcullis, everything on (+ audit)', spineFigures.everything_on),
      ...loadRows('supergateway --stateful', spineFigures.supergateway),
    ]),
  );
  say(`Portcullis / supergateway calls/s at c=16: ${fixed(spineFigures.portcullis_vs_supergateway_calls_per_s_c16, 2)}x (target >= 2)`);
  say(`Portcullis p50 minus direct p50: ${fixed(spineFigures.portcullis_added_p50_ms_c1, 3)} ms at c=1 (target <= 1), ${fixed(spineFigures.portcullis_added_p50_ms_c16, 3)} ms at c=16`);
  say(`Portcullis / supergateway proxy CPU per call at c=16: ${fixed(spineFigures.portcullis_vs_supergateway_cpu_per_call_c16, 2)}x`);
  say('proxy CPU ms/call: CPU time of the proxy process alone (not its upstream), from /proc; it holds on a busy machine where calls/s do not.');

  say(`\n== default policy (policies/) through the npm loader ==`);
  say(
    formatTable(
      ['', 'p50 µs', 'p99 µs', 'evaluations/s'],
      [
        ['decide tools/call echo (demo agent)', ...decisionCells(decisions.request)],
        ['decide its result (response inspection)', ...decisionCells(decisions.result)],
      ],
    ),
  );
  say(`compile policies/: median ${fixed(compileFigures.median_ms, 0)} ms of ${compileFigures.runs} runs (first ${fixed(compileFigures.first_ms, 0)} ms)`);
  say(`targets: decision p50 <= 50 µs, compile < 2000 ms`);

  say(`\n== cost of each control (Portcullis, mTLS), median of ${SCALE.controlRuns} runs ==`);
  const rows: string[][] = [];
  for (const step of ladder) {
    if (step.figures !== undefined) rows.push(...loadRows(step.label, step.figures));
    else rows.push([step.label, ...LOAD_HEADERS.slice(1).map(() => '-')]);
  }
  say(formatTable(LOAD_HEADERS, rows));
  for (const step of ladder) if (step.unavailable !== undefined) say(`${step.label}: not measured, ${step.unavailable}`);
  say('Always on in every row (no config switch): mTLS, tool pinning, argument validation, rate limiting (rate classes out of reach).');
  say('Inspection has no config switch either: without it, the bench answers tool results without asking the policy.');
  say(
    audit.ratio !== undefined
      ? `audit on vs off at c=16: ${fixed(audit.on_calls_per_s_c16, 0)} vs ${fixed(audit.off_calls_per_s_c16, 0)} calls/s (${fixed(audit.ratio * 100, 0)}%)`
      : `audit on vs off: not measured (${audit.unavailable ?? ''})`,
  );

  say(`\n== server-everything over Streamable HTTP, median of ${SCALE.controlRuns} runs ==`);
  say(
    formatTable(LOAD_HEADERS, [
      ...loadRows('direct HTTP', http.direct),
      ...loadRows('Portcullis, everything on', http.portcullis),
      ...loadRows('supergateway over mcp-remote', http.proxy),
    ]),
  );
  say(`/ direct calls/s at c=16: Portcullis ${fixed(http.portcullis_vs_direct_calls_per_s_c16 * 100, 0)}%, supergateway over mcp-remote ${fixed(http.proxy_vs_direct_calls_per_s_c16 * 100, 0)}%`);
}

/** What the figures were measured on: a busy machine explains slow calls/s (proxy CPU per call holds). */
interface Machine {
  cpus: number;
  load_average_1m: number;
}

function machine(): Machine {
  return { cpus: os.availableParallelism(), load_average_1m: os.loadavg()[0] ?? Number.NaN };
}

async function main(): Promise<void> {
  const started = Date.now();
  const before = machine();
  process.stderr.write(`bench: ${before.cpus} CPUs, load average ${fixed(before.load_average_1m, 2)}${quick ? ', quick' : ''}\n`);
  process.stderr.write(`bench: policy compile and decisions...\n`);
  const compileFigures = measureCompile(SCALE.compileRuns);
  const decisions = {
    request: measureDecisions(DECISION_INPUTS.request(), SCALE.decisions, SCALE.decisionRuns),
    result: measureDecisions(DECISION_INPUTS.result(), SCALE.decisions, SCALE.decisionRuns),
  };
  process.stderr.write(`bench: direct / Portcullis / supergateway...\n`);
  const spineFigures = await spine();
  process.stderr.write(`bench: control ladder...\n`);
  const ladder = await controls();
  const audit = auditCost(ladder);
  process.stderr.write(`bench: gateway memory (${SCALE.idleSessions} idle sessions, c=64)...\n`);
  const mem = await memory();
  process.stderr.write(`bench: HTTP upstream...\n`);
  const http = await httpUpstream();
  process.stderr.write(`bench: orchestration overhead...\n`);
  const orchestration = await measureOrchestration(quick ? 2 : 9);
  report(before, spineFigures, decisions, compileFigures, ladder, audit, mem, http);
  process.stdout.write(`${orchestrationReport(orchestration)}\n`);
  const json = {
    node: process.version,
    machine: { before, after: machine() },
    quick,
    scale: SCALE,
    duration_s: (Date.now() - started) / 1000,
    tools_call: spineFigures,
    policy: { decision: decisions, compile: compileFigures },
    audit,
    controls: ladder,
    memory: mem,
    http_upstream: http,
    orchestration,
  };
  process.stdout.write(`\nJSON:\n${JSON.stringify(json, null, 2)}\n`);
  const failed = failedCalls(spineFigures, ladder, mem, http);
  if (failed > 0) {
    process.stderr.write(`bench: ${failed} calls failed (see the errors column and first_error in the JSON); those figures are not comparable\n`);
    process.exitCode = 1;
  }
}

function failedCalls(spineFigures: SpineFigures, ladder: readonly ControlFigures[], mem: MemoryFigures, http: HttpUpstreamFigures): number {
  const all = [
    spineFigures.direct, spineFigures.portcullis, spineFigures.everything_on, spineFigures.supergateway,
    ...ladder.flatMap((s) => (s.figures ? [s.figures] : [])),
    http.direct, http.portcullis, http.proxy,
  ];
  return all.reduce((sum, f) => sum + f.c1.errors + f.c16.errors, mem.c64.errors);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
