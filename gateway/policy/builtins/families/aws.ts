/** providers.aws.sign_req: AWS Signature Version 4 of an HTTP request object, as OPA signs it. */
import { createHash, createHmac } from 'node:crypto';
import { BuiltinError, int, obj, type BuiltinTable } from '../operands.js';
import { RegoObject, type Value } from '../value.js';
import { serialiseJson } from '../codec.js';

const sha256Hex = (data: string): string => createHash('sha256').update(data, 'utf8').digest('hex');
const hmac = (key: Buffer | string, data: string): Buffer => createHmac('sha256', key).update(data, 'utf8').digest();

/** The named string fields of an operand, or the BuiltinError OPA reports for missing / mistyped ones. */
function requiredStrings<K extends string>(o: RegoObject, names: readonly K[], operand: number, what: string): Record<K, string> {
  const missing = names.filter((n) => !o.has(n));
  const list = (ns: string[]): string => `{${ns.map((n) => JSON.stringify(n)).join(', ')}}`;
  if (missing.length > 0) throw new BuiltinError(`operand ${operand} missing required ${what} parameters(s): ${list(missing)}`);
  const wrong = names.filter((n) => typeof o.get(n) !== 'string');
  if (wrong.length > 0) throw new BuiltinError(`operand ${operand} invalid values for required ${what} parameters(s): ${list(wrong)}`);
  return Object.fromEntries(names.map((n) => [n, o.get(n) as string])) as Record<K, string>;
}

function signRequest(reqV: Value | undefined, configV: Value | undefined, timeV: Value | undefined): RegoObject {
  const req = obj(reqV);
  const config = obj(configV);
  const { method, url } = requiredStrings(req, ['method', 'url'], 1, 'request');
  const creds = requiredStrings(config, ['aws_access_key', 'aws_region', 'aws_secret_access_key', 'aws_service'], 2, 'AWS config');
  const token = config.get('aws_session_token');
  const unsigned = config.get('disable_payload_signing') ?? false;
  if (typeof unsigned !== 'boolean') throw new BuiltinError("operand 2 invalid value for 'disable_payload_signing' in AWS config");
  let when: Date;
  try {
    when = new Date(Number(int(timeV) / 1_000_000n));
    if (Number.isNaN(when.getTime())) throw new Error('out of range');
  } catch {
    throw new BuiltinError('operand 3 could not convert time_ns value into a unix timestamp');
  }
  const parsed = new URL(url);
  // Go's URL.EscapedPath and RawQuery: the path as written (empty when there is none).
  const [, rawPath = '', rawQuery = ''] = /^[^:]+:\/\/[^/?#]*([^?#]*)(?:\?([^#]*))?/.exec(url) ?? [];
  const iso = when.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  const day = iso.slice(0, 8);

  const rawBody = req.get('raw_body');
  const body = typeof rawBody === 'string' ? rawBody : req.has('body') ? serialiseJson(req.get('body') as Value) : '';
  const payloadHash = unsigned ? 'UNSIGNED-PAYLOAD' : sha256Hex(body);

  const amzHeaders = new Map<string, string>([['host', parsed.host], ['x-amz-date', iso], ['x-amz-content-sha256', payloadHash]]);
  if (typeof token === 'string' && token !== '') amzHeaders.set('x-amz-security-token', token);
  // The request's own headers win in the signature (OPA signs them as given); the result carries the computed ones.
  const headers = new Map(amzHeaders);
  const given = req.get('headers');
  if (given instanceof RegoObject) for (const [k, v] of given.sorted()) headers.set(String(k).toLowerCase(), typeof v === 'string' ? v : serialiseJson(v));

  const names = [...headers.keys()].sort();
  const signedHeaders = names.join(';');
  const canonical = [
    method,
    rawPath,
    rawQuery,
    ...names.map((n) => `${n}:${headers.get(n) as string}`),
    '',
    signedHeaders,
    payloadHash,
  ].join('\n');
  const scope = `${day}/${creds.aws_region}/${creds.aws_service}/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', iso, scope, sha256Hex(canonical)].join('\n');
  const key = ['aws4_request'].reduce(
    (k, part) => hmac(k, part),
    hmac(hmac(hmac(`AWS4${creds.aws_secret_access_key}`, day), creds.aws_region), creds.aws_service),
  );
  const signature = hmac(key, toSign).toString('hex');

  const outHeaders = new RegoObject(given instanceof RegoObject ? given.entries.values() : []);
  for (const [k, v] of amzHeaders) outHeaders.set(k, v);
  outHeaders.set('Authorization',
    `AWS4-HMAC-SHA256 Credential=${creds.aws_access_key}/${scope},SignedHeaders=${signedHeaders},Signature=${signature}`);
  const out = new RegoObject(req.entries.values());
  out.set('headers', outHeaders);
  return out;
}

export const awsBuiltins: BuiltinTable = {
  'providers.aws.sign_req': signRequest,
};
