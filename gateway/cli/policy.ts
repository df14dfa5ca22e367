/**
 * `portcullis policy ...`: build, test, evaluate, sign and verify policies.
 *
 *   build [dir] [-e <entrypoint>]... -o <out.wasm|out.tar.gz>
 *   test [dir] [--run <regex>] [-v] [--coverage] [--format text|json] [--threshold N]   (policy-test.ts)
 *   fmt [paths...] [--check]   (policy-fmt.ts)
 *   check [paths...] [--strict]   (policy-check.ts)
 *   eval [dir|bundle|wasm] [-e <entrypoint>] --input <file|->
 *   sign <bundle.tar.gz> (--key <pem> | --pki <dir>) [--alg A] [--keyid K] [--scope S] [-o out]
 *   verify <bundle.tar.gz> (--key <pem> | --pki <dir>) [--alg A] [--keyid K] [--scope S]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { locatePolicy, preparePolicy, buildFolderBundle, compileFolder, PolicyRejectedError } from '../policy/bundle/artifact.js';
import { readBundle, writeBundle, BundleError, SIGNATURES_FILE } from '../policy/bundle/bundle.js';
import { DECISION_ENTRYPOINT } from '../policy/engine/decision.js';
import { PolicyEvaluationError } from '../policy/engine/engine.js';
import { signBundleFiles, signingKey, verificationKey, verifyBundleFiles, SignatureError } from '../policy/bundle/signing.js';
import { PolicySourceError, readPolicySources } from '../policy/bundle/sources.js';
import { RegoError } from '../policy/rego/ast.js';
import { pkiPaths } from '../pki/store.js';
import { sanitizeText } from '../sanitize/text.js';
import { UsageError } from './args.js';
import { DEFAULT_POLICY_DIR } from './policy-files.js';
import { test } from './policy-test.js';
import { fmt } from './policy-fmt.js';
import { check } from './policy-check.js';
import { status } from './policy-status.js';
import { shadowReport } from './policy-shadow.js';
import { replay } from './policy-replay.js';

export interface Io {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  stdin: () => string;
}

const processIo: Io = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  stdin: () => readFileSync(0, 'utf8'),
};

export const USAGE = `usage: portcullis policy <command>
  build [dir] [-e <entrypoint>]... -o <out.wasm|out.tar.gz>
  test [dir] [--run <regex>] [-v] [--coverage] [--format text|json] [--threshold <percent>]
  fmt [files or dirs...] [--check]
  check [files or dirs...] [--strict]
  eval [dir|bundle|wasm] [-e <entrypoint>] --input <file|->
  sign <bundle.tar.gz> (--key <pem> | --pki <dir>) [--alg <alg>] [--keyid <id>] [--scope <scope>] [-o <out>]
  verify <bundle.tar.gz> (--key <pem> | --pki <dir>) [--alg <alg>] [--keyid <id>] [--scope <scope>]
  status [--config <portcullis.yaml> | --file <status.json>] [--json]
  shadow-report --audit <dir> [--since <time>] [--until <time>] [--json]
  replay <dir|bundle|wasm> --audit <dir> [--since <time>] [--until <time>] [--json] [--fail-on-change]
dir defaults to ./policies, the entrypoint to ${DECISION_ENTRYPOINT}.`;

const DEFAULT_DIR = DEFAULT_POLICY_DIR;
const DEFAULT_KEY_ID = 'portcullis';

type Options = Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }>;

function parse(args: string[], options: Options): { values: Record<string, unknown>; positionals: string[] } {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : 'invalid arguments');
  }
}

function single(positionals: string[], fallback?: string): string {
  if (positionals.length > 1) throw new UsageError(`unexpected argument "${positionals[1]}"`);
  const value = positionals[0] ?? fallback;
  if (value === undefined) throw new UsageError('missing argument');
  return value;
}

function entrypointsOf(values: Record<string, unknown>): string[] {
  const list = values.entrypoint as string[] | undefined;
  return list && list.length > 0 ? list : [DECISION_ENTRYPOINT];
}

async function build(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(args, {
    entrypoint: { type: 'string', short: 'e', multiple: true },
    output: { type: 'string', short: 'o' },
  });
  const dir = single(positionals, DEFAULT_DIR);
  const out = values.output as string | undefined;
  if (out === undefined) throw new UsageError('missing -o <out.wasm|out.tar.gz>');
  const entrypoints = entrypointsOf(values);
  if (out.endsWith('.wasm')) {
    writeFileSync(out, compileFolder(readPolicySources(dir), entrypoints));
    io.stdout(`wrote ${out} (entrypoints: ${entrypoints.join(', ')})\n`);
  } else if (out.endsWith('.tar.gz') || out.endsWith('.tgz')) {
    const { archive, revision } = buildFolderBundle(dir, entrypoints);
    writeFileSync(out, archive);
    io.stdout(`wrote ${out} (revision ${revision}; entrypoints: ${entrypoints.join(', ')})\n`);
  } else {
    throw new UsageError('the output must end in .wasm or .tar.gz');
  }
  return 0;
}

async function evaluate(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(args, {
    entrypoint: { type: 'string', short: 'e', multiple: true },
    input: { type: 'string', short: 'i' },
  });
  const entrypoints = entrypointsOf(values);
  if (entrypoints.length > 1) throw new UsageError('eval takes one entrypoint');
  if (typeof values.input !== 'string') throw new UsageError('missing --input <file|->');
  const text = values.input === '-' ? io.stdin() : readFileSync(values.input, 'utf8');
  let input: unknown;
  try {
    input = JSON.parse(text);
  } catch {
    io.stderr('portcullis policy eval: the input is not valid JSON\n');
    return 1;
  }
  const { engine, revision } = await preparePolicy(locatePolicy(single(positionals, DEFAULT_DIR)), { entrypoints, onFailure: () => {} });
  const resultSet = engine.evaluate(input, entrypoints[0]) as Array<{ result?: unknown }>;
  const result = resultSet[0]?.result;
  io.stdout(`${JSON.stringify({ revision, result: result === undefined ? null : result, defined: result !== undefined }, null, 2)}\n`);
  return 0;
}

/** Signing or verification key material: a PEM file, or the gateway PKI's CA key / certificate. */
function keyMaterial(values: Record<string, unknown>, use: 'sign' | 'verify'): string {
  const key = values.key as string | undefined;
  const pki = values.pki as string | undefined;
  if ((key === undefined) === (pki === undefined)) throw new UsageError('give exactly one of --key <file> or --pki <dir>');
  if (key !== undefined) return readFileSync(key, 'utf8');
  const paths = pkiPaths(pki as string);
  return readFileSync(use === 'sign' ? paths.caKey : paths.caCert, 'utf8');
}

const KEY_OPTIONS: Options = {
  key: { type: 'string', short: 'k' },
  pki: { type: 'string' },
  alg: { type: 'string' },
  keyid: { type: 'string' },
  scope: { type: 'string' },
};

async function sign(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(args, { ...KEY_OPTIONS, output: { type: 'string', short: 'o' } });
  const file = single(positionals);
  const key = signingKey(keyMaterial(values, 'sign'), values.alg as string | undefined);
  const bundle = readBundle(readFileSync(file));
  const keyid = (values.keyid as string | undefined) ?? DEFAULT_KEY_ID;
  const signOptions: { keyid: string; scope?: string } = { keyid };
  if (typeof values.scope === 'string') signOptions.scope = values.scope;
  const files = new Map(bundle.files);
  files.delete(SIGNATURES_FILE);
  files.set(SIGNATURES_FILE, new Uint8Array(Buffer.from(await signBundleFiles(files, key, signOptions))));
  const out = (values.output as string | undefined) ?? file;
  writeFileSync(out, writeBundle(files));
  io.stdout(`signed ${out} (${key.alg}, key id ${keyid})\n`);
  return 0;
}

async function verify(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(args, KEY_OPTIONS);
  const file = single(positionals);
  const keyid = (values.keyid as string | undefined) ?? DEFAULT_KEY_ID;
  const material = keyMaterial(values, 'verify');
  const bundle = readBundle(readFileSync(file));
  const config: { keys: Record<string, ReturnType<typeof verificationKey>>; keyid: string; scope?: string } = {
    keys: { [keyid]: verificationKey(material, values.alg as string | undefined) },
    keyid,
  };
  if (typeof values.scope === 'string') config.scope = values.scope;
  await verifyBundleFiles(bundle.files, config);
  io.stdout(`verified ${file} (revision ${bundle.manifest.revision ?? 'unknown'})\n`);
  return 0;
}

const COMMANDS: Record<string, (args: string[], io: Io) => Promise<number>> = {
  build,
  test,
  fmt,
  check,
  eval: evaluate,
  sign,
  verify,
  status,
  'shadow-report': shadowReport,
  replay,
};

/** Expected failures, reported as one line; anything else is a bug and propagates. */
function isReportable(err: unknown): err is Error {
  return err instanceof RegoError || err instanceof PolicyRejectedError || err instanceof BundleError
    || err instanceof SignatureError || err instanceof PolicyEvaluationError
    || err instanceof PolicySourceError
    // File system errors (missing file, permission): their message names the path.
    || (err instanceof Error && (err as NodeJS.ErrnoException).syscall !== undefined);
}

export async function run(args: string[], io: Io = processIo): Promise<number> {
  const [command, ...rest] = args;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    io.stdout(`${USAGE}\n`);
    return command === undefined ? 2 : 0;
  }
  const handler = Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
  if (handler === undefined) {
    io.stderr(`portcullis policy: unknown command "${sanitizeText(command, { maxLength: 64 })}"\n${USAGE}\n`);
    return 2;
  }
  try {
    return await handler(rest, io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr(`portcullis policy ${command}: ${sanitizeText(err.message)}\n${USAGE}\n`);
      return 2;
    }
    if (isReportable(err)) {
      io.stderr(`portcullis policy ${command}: ${sanitizeText(err.message)}\n`);
      return 1;
    }
    throw err;
  }
}
