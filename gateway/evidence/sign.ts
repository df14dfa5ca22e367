/**
 * Reports are signed with the gateway's key, like audit checkpoints: a
 * compact JWS (jose) whose payload is the SHA-256 of the report's RFC 8785
 * canonical JSON without its `signature` member. `report verify` recomputes
 * the digest and checks the JWS; any change to any figure breaks it.
 */
import { createHash, type KeyObject, createPublicKey } from 'node:crypto';
import { CompactSign, compactVerify } from 'jose';
import { algorithmFor, keyId } from '../audit/checkpoint.js';
import { canonicalJson } from '../util/canonical-json.js';

export const REPORT_TYP = 'portcullis-report+jws';

export interface ReportSignature {
  alg: string;
  kid: string;
  /** SHA-256 (hex) of the canonical JSON of the report without `signature`. */
  sha256: string;
  jws: string;
}

function digestOf(report: Record<string, unknown>): string {
  const { signature: _signature, ...body } = report;
  return createHash('sha256').update(canonicalJson(body)).digest('hex');
}

export async function signReport<T extends object>(report: T, privateKey: KeyObject): Promise<T & { signature: ReportSignature }> {
  const alg = algorithmFor(privateKey);
  const kid = await keyId(createPublicKey(privateKey));
  const sha256 = digestOf(report as Record<string, unknown>);
  const jws = await new CompactSign(new TextEncoder().encode(JSON.stringify({ sha256 })))
    .setProtectedHeader({ alg, kid, typ: REPORT_TYP })
    .sign(privateKey);
  return { ...report, signature: { alg, kid, sha256, jws } };
}

export type SignatureCheck = { ok: true; kid: string; sha256: string } | { ok: false; reason: string };

/** Whether `document` is a report signed by `publicKey` and unchanged since. */
export async function verifyReportSignature(document: unknown, publicKey: KeyObject): Promise<SignatureCheck> {
  if (document === null || typeof document !== 'object' || Array.isArray(document)) return { ok: false, reason: 'not a report (JSON object expected)' };
  const signature = (document as { signature?: Partial<ReportSignature> }).signature;
  if (typeof signature?.jws !== 'string') return { ok: false, reason: 'the report is not signed' };
  let payload: unknown;
  try {
    const verified = await compactVerify(signature.jws, publicKey, { algorithms: [algorithmFor(publicKey)] });
    if (verified.protectedHeader.typ !== REPORT_TYP) return { ok: false, reason: 'the signature is not a report signature' };
    if (verified.protectedHeader.kid !== (await keyId(publicKey))) return { ok: false, reason: 'signed under another key id' };
    payload = JSON.parse(new TextDecoder().decode(verified.payload));
  } catch {
    return { ok: false, reason: 'the signature does not verify with the given key' };
  }
  const signed = (payload as { sha256?: unknown } | null)?.sha256;
  const actual = digestOf(document as Record<string, unknown>);
  if (signed !== actual) return { ok: false, reason: 'the report was changed after it was signed (its digest differs from the signed one)' };
  return { ok: true, kid: signature.kid ?? '', sha256: actual };
}
