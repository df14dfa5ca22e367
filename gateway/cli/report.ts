/**
 * `portcullis report <framework|all> [--config F] [--from T] [--to T]
 *    [--format json|html|pdf|oscal] [--subject ID] [--out FILE|DIR]`
 * `portcullis report verify <file> [--key cert.pem] [--config F]`
 *
 * Offline mode, for an auditor: the evidence is read from the folders the
 * configuration names (the audit trail verified first) and the report is
 * signed with the gateway's key. Exit codes: 0 OK, 1 verification failed,
 * 2 usage or I/O error.
 */
import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { buildReport, embeddedReport, FORMATS, FRAMEWORKS, type Format, type FrameworkId, isFramework, renderReport, reportInHtml } from '../../agents/reporters/index.js';
import { parseVerificationKey } from '../audit/checkpoint.js';
import { parseTimeBound } from '../audit/query.js';
import { loadConfigFile } from '../config/load.js';
import { configuredPki } from '../config/pki-files.js';
import type { PortcullisConfig } from '../config/sections.js';
import { collectEvidence } from '../evidence/collect.js';
import { signReport, verifyReportSignature } from '../evidence/sign.js';
import { sanitizeText } from '../sanitize/text.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { defaultConfigFile } from '../server.js';
import { parse, stringOption, UsageError } from './args.js';

export const USAGE = `usage:
  portcullis report <${FRAMEWORKS.join('|')}|all> [--config portcullis.yaml] [--from TIME] [--to TIME]
      [--format ${FORMATS.join('|')}] [--subject IDENTIFIER] [--out FILE|DIR]
  portcullis report verify <report.json|report.html|oscal.json> [--key <cert.pem|public.pem|key.jwk>] [--config portcullis.yaml]
  Reads the evidence the configuration names (audit trail verified first), signs the report with
  the gateway's key. TIME is ISO 8601 or a duration back from now (30s, 15m, 2h, 7d).
  "all" writes one file per framework into the folder --out; pdf needs --out.`;

interface Io {
  out: (text: string | Buffer) => void;
  err: (text: string) => void;
}

const stdio: Io = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};

function timeOption(name: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const at = parseTimeBound(value);
  if (at === undefined) throw new UsageError(`--${name}: not a time (ISO 8601 or 30s/15m/2h/7d)`);
  return new Date(at).toISOString();
}

function formatOption(value: string | undefined): Format {
  if (value === undefined) return 'json';
  if (!(FORMATS as readonly string[]).includes(value)) throw new UsageError(`--format must be one of ${FORMATS.join(', ')}`);
  return value as Format;
}

const EXTENSIONS: Record<Format, string> = { json: 'json', html: 'html', pdf: 'pdf', oscal: 'oscal.json' };

export interface ReportRequest {
  frameworks: FrameworkId[];
  period: { from?: string; to?: string };
  subject?: string;
  format: Format;
}

/** Builds, signs and renders the requested reports from the evidence the configuration names. */
export async function produceReports(config: PortcullisConfig, request: ReportRequest): Promise<Array<{ framework: FrameworkId; body: string | Buffer; summary: Record<string, number>; audit: string }>> {
  const evidence = await collectEvidence({ config }, request.period);
  const key = createPrivateKey(readFileSync(configuredPki(config).serverKey, 'utf8'));
  const out = [];
  for (const framework of request.frameworks) {
    const report = buildReport(framework, evidence, { period: request.period, ...(request.subject === undefined ? {} : { subject: request.subject }) });
    const signed = await signReport(report, key);
    out.push({ framework, body: await renderReport(signed, request.format), summary: report.summary, audit: report.audit.status });
  }
  return out;
}

async function generate(target: string, args: string[], io: Io): Promise<number> {
  const parsed = parse(args, ['config', 'from', 'to', 'format', 'subject', 'out']);
  if (parsed.positionals.length > 0) throw new UsageError(`unexpected argument "${parsed.positionals[0]}"`);
  const format = formatOption(stringOption(parsed, 'format'));
  const out = stringOption(parsed, 'out');
  if (target === 'all' && out === undefined) throw new UsageError('"all" writes one report per framework: give a folder with --out');
  if (format === 'pdf' && out === undefined) throw new UsageError('a PDF is written to a file: give --out');
  const from = timeOption('from', stringOption(parsed, 'from'));
  const to = timeOption('to', stringOption(parsed, 'to'));
  const subject = stringOption(parsed, 'subject');
  const config = loadConfigFile(stringOption(parsed, 'config') ?? defaultConfigFile());
  const frameworks = target === 'all' ? [...FRAMEWORKS] : [target as FrameworkId];
  const reports = await produceReports(config, { frameworks, format, period: { ...(from === undefined ? {} : { from }), ...(to === undefined ? {} : { to }) }, ...(subject === undefined ? {} : { subject }) });
  for (const report of reports) {
    if (out === undefined) {
      io.out(report.body);
      continue;
    }
    const file = target === 'all' ? path.join(out, `${report.framework}.${EXTENSIONS[format]}`) : out;
    writeFileAtomic(file, report.body);
    io.err(`${report.framework}: ${Object.entries(report.summary).map(([s, n]) => `${n} ${s}`).join(', ')}; audit trail ${report.audit}; written to ${file}\n`);
  }
  return reports.every((r) => r.audit === 'verified') ? 0 : 1;
}

/** The signed JSON report a file holds: itself, embedded in the HTML, or in the OSCAL back-matter. */
function signedReportIn(text: string): unknown {
  if (/^\s*</.test(text)) return reportInHtml(text);
  return embeddedReport(JSON.parse(text));
}

async function verify(args: string[], io: Io): Promise<number> {
  const parsed = parse(args, ['key', 'config']);
  const [file] = parsed.positionals;
  if (file === undefined || parsed.positionals.length > 1) throw new UsageError('verify takes one report file');
  const keyFile = stringOption(parsed, 'key') ?? configuredPki(loadConfigFile(stringOption(parsed, 'config') ?? defaultConfigFile())).serverCert;
  const publicKey = parseVerificationKey(readFileSync(keyFile, 'utf8'));
  let document: unknown;
  try {
    document = signedReportIn(readFileSync(file, 'utf8'));
  } catch {
    document = undefined;
  }
  const check = await verifyReportSignature(document, publicKey);
  if (!check.ok) {
    io.out(`FAILED: ${sanitizeText(check.reason)}\n`);
    return 1;
  }
  const audit = (document as { audit?: { status?: string } }).audit?.status ?? 'unknown';
  io.out(`OK: signed by ${sanitizeText(check.kid)}, sha256 ${check.sha256}; the report states its audit trail ${sanitizeText(audit)}\n`);
  return 0;
}

export async function run(args: string[], io: Io = stdio): Promise<number> {
  const [command, ...rest] = args;
  if (command === 'verify') return verify(rest, io);
  if (command === undefined || (command !== 'all' && !isFramework(command))) {
    throw new UsageError(command === undefined ? 'missing framework' : `unknown framework "${sanitizeText(command, { maxLength: 64 })}"`);
  }
  return generate(command, rest, io);
}
