import t from 'tap';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { hostBuiltinImports } from '../gateway/policy/builtins/index.js';
import { HOST_PREFIX } from '../gateway/policy/builtins/wire.js';

const host = hostBuiltinImports();
const call = (name: string, args: string): string => host[HOST_PREFIX + name]!(args);
const json = (v: unknown): string => JSON.stringify(v);
const token = (text: string): string => JSON.parse(text) as string;

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const ed = generateKeyPairSync('ed25519');
const jwk = (k: KeyObject): object => k.export({ format: 'jwk' });
const pem = (k: KeyObject): string => k.export({ format: 'pem', type: 'spki' }) as string;
const HMAC_KEY = { kty: 'oct', k: Buffer.from('a shared secret').toString('base64url') };

const claims = { iss: 'portcullis', aud: 'gateway', sub: 'agent-1', exp: 2000000000, nbf: 1500000000 };

t.test('sign and verify with every algorithm family', async (t) => {
  const pairs: [string, KeyObject | null, object, string][] = [
    ['RS256', rsa.publicKey, jwk(rsa.privateKey), 'io.jwt.verify_rs256'],
    ['PS384', rsa.publicKey, jwk(rsa.privateKey), 'io.jwt.verify_ps384'],
    ['ES256', ec.publicKey, jwk(ec.privateKey), 'io.jwt.verify_es256'],
    ['EdDSA', ed.publicKey, jwk(ed.privateKey), 'io.jwt.verify_eddsa'],
  ];
  for (const [alg, pub, priv, verifier] of pairs) {
    const signed = call('io.jwt.encode_sign', `[${json({ alg, typ: 'JWT' })}, ${json(claims)}, ${json(priv)}]`);
    t.not(signed, '', `${alg} signs`);
    t.equal(call(verifier, `[${signed}, ${json(pem(pub!))}]`), 'true', `${alg} verifies with PEM`);
    t.equal(call(verifier, `[${signed}, ${json(JSON.stringify(jwk(pub!)))}]`), 'true', `${alg} verifies with a JWK`);
    const [h, , s] = token(signed).split('.');
    const tampered = `${h}.${Buffer.from(JSON.stringify({ ...claims, sub: 'root' })).toString('base64url')}.${s}`;
    t.equal(call(verifier, `[${json(tampered)}, ${json(pem(pub!))}]`), 'false', `${alg} rejects a changed payload`);
  }
  const hs = call('io.jwt.encode_sign', `[{"alg": "HS256"}, ${json(claims)}, ${json(HMAC_KEY)}]`);
  t.equal(call('io.jwt.verify_hs256', `[${hs}, "a shared secret"]`), 'true');
  t.equal(call('io.jwt.verify_hs256', `[${hs}, "another secret"]`), 'false');
  t.equal(call('io.jwt.verify_hs512', `[${hs}, "a shared secret"]`), 'false', 'the algorithm must match the header');
  const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const rs = call('io.jwt.encode_sign', `[{"alg": "RS256"}, ${json(claims)}, ${json(jwk(rsa.privateKey))}]`);
  t.equal(call('io.jwt.verify_rs256', `[${rs}, ${json(pem(other.publicKey))}]`), 'false', 'wrong key');
  const jwks = JSON.stringify({ keys: [jwk(other.publicKey), jwk(rsa.publicKey)] });
  t.equal(call('io.jwt.verify_rs256', `[${rs}, ${json(jwks)}]`), 'true', 'any key of a JWK set');
});

t.test('decode, including nested tokens and malformed input', async (t) => {
  const hs = call('io.jwt.encode_sign_raw', `[${json('{"alg":"HS256","typ":"JWT"}')}, ${json('{"n":12345678901234567890}')}, ${json(JSON.stringify(HMAC_KEY))}]`);
  const [header, payload, sig] = JSON.parse(call('io.jwt.decode', `[${hs}]`).replace(/12345678901234567890/, '"big"')) as [object, object, string];
  t.same(header, { alg: 'HS256', typ: 'JWT' });
  t.same(payload, { n: 'big' });
  t.match(sig, /^[0-9a-f]{64}$/);
  t.match(call('io.jwt.decode', `[${hs}]`), /"n":12345678901234567890/, 'claims keep exact numbers');
  const outer = call('io.jwt.encode_sign_raw', `[${json('{"alg":"HS256","cty":"JWT"}')}, ${json(JSON.stringify(token(hs)))}, ${json(JSON.stringify(HMAC_KEY))}]`);
  t.equal(call('io.jwt.decode', `[${outer}]`), call('io.jwt.decode', `[${hs}]`), 'a nested token decodes to the inner one');
  t.equal(call('io.jwt.decode', '["no-periods"]'), '');
  t.equal(call('io.jwt.decode', '["a.b"]'), '');
  t.equal(call('io.jwt.decode', '["e30.e30.!!"]'), '', 'bad signature encoding');
  const jwe = `${Buffer.from('{"alg":"RSA-OAEP","enc":"A256GCM"}').toString('base64url')}.e30.`;
  t.equal(call('io.jwt.decode', `[${json(jwe)}]`), '', 'JWE is not supported');
});

t.test('decode_verify checks signature, time, issuer and audience', async (t) => {
  const signed = call('io.jwt.encode_sign', `[{"alg": "RS256"}, ${json(claims)}, ${json(jwk(rsa.privateKey))}]`);
  const cert = json(pem(rsa.publicKey));
  const at = (seconds: number): string => `${BigInt(seconds) * 1_000_000_000n}`;
  const ok = call('io.jwt.decode_verify', `[${signed}, {"cert": ${cert}, "aud": "gateway", "iss": "portcullis", "time": ${at(1700000000)}}]`);
  t.match(ok, /^\[true,\{"alg":"RS256"\},\{"aud":"gateway"/);
  const invalid = '[false,{},{}]';
  t.equal(call('io.jwt.decode_verify', `[${signed}, {"cert": ${cert}, "aud": "gateway", "time": ${at(2000000001)}}]`), invalid, 'expired');
  t.equal(call('io.jwt.decode_verify', `[${signed}, {"cert": ${cert}, "aud": "gateway", "time": ${at(1400000000)}}]`), invalid, 'not yet valid');
  t.equal(call('io.jwt.decode_verify', `[${signed}, {"cert": ${cert}, "aud": "gateway", "iss": "other", "time": ${at(1700000000)}}]`), invalid, 'issuer');
  t.equal(call('io.jwt.decode_verify', `[${signed}, {"cert": ${cert}, "time": ${at(1700000000)}}]`), invalid, 'a token with an audience needs one asked for');
  t.equal(call('io.jwt.decode_verify', `[${signed}, {"cert": ${cert}, "aud": "other", "time": ${at(1700000000)}}]`), invalid, 'audience');
  t.equal(call('io.jwt.decode_verify', `[${signed}, {"cert": ${cert}, "aud": "gateway", "alg": "RS512", "time": ${at(1700000000)}}]`), invalid, 'algorithm');
  t.equal(call('io.jwt.decode_verify', `[${signed}, {"secret": "x", "aud": "gateway", "time": ${at(1700000000)}}]`), invalid, 'no HMAC check of an RSA token');
  t.equal(call('io.jwt.decode_verify', `[${signed}, {"cert": ${cert}, "colour": "red"}]`), '', 'unknown constraints are an error');
  const hs = call('io.jwt.encode_sign', `[{"alg": "HS256"}, {"exp": "soon"}, ${json(HMAC_KEY)}]`);
  t.equal(call('io.jwt.decode_verify', `[${hs}, {"secret": "a shared secret"}]`), '', 'a non-numeric exp is an error');
});
