import t from 'tap';
import { generateKeyPairSync } from 'node:crypto';
import forge from 'node-forge';
import { hostBuiltinImports } from '../gateway/policy/builtins/index.js';
import { HOST_PREFIX } from '../gateway/policy/builtins/wire.js';

const host = hostBuiltinImports();
const call = (name: string, args: string): string => host[HOST_PREFIX + name]!(args);
const json = (v: unknown): string => JSON.stringify(v);

t.test('graphql: gqlparser-shaped ASTs', async (t) => {
  t.equal(call('graphql.parse_query', '["query Q($id: ID! = \\"x\\") { user(id: $id) { name ... on Admin { level } } }"]'),
    '{"Operations":[{"Name":"Q","Operation":"query","SelectionSet":[{"Alias":"user","Arguments":[{"Name":"id","Value":{"Kind":0,"Raw":"id"}}],'
    + '"Name":"user","SelectionSet":[{"Alias":"name","Name":"name"},{"SelectionSet":[{"Alias":"level","Name":"level"}],"TypeCondition":"Admin"}]}],'
    + '"VariableDefinitions":[{"DefaultValue":{"Kind":3,"Raw":"x"},"Type":{"NamedType":"ID","NonNull":true},"Used":false,"Variable":"id"}]}]}');
  t.equal(call('graphql.parse_schema', '["\\"A user\\" type User implements Node { id: ID! tags(first: Int = 5): [String] } enum Role { ADMIN }"]'),
    '{"Definitions":[{"BuiltIn":false,"Description":"A user","Fields":[{"Description":"","Name":"id","Type":{"NamedType":"ID","NonNull":true}},'
    + '{"Arguments":[{"DefaultValue":{"Kind":1,"Raw":"5"},"Description":"","Name":"first","Type":{"NamedType":"Int","NonNull":false}}],"Description":"","Name":"tags",'
    + '"Type":{"Elem":{"NamedType":"String","NonNull":false},"NamedType":"","NonNull":false}}],"Interfaces":["Node"],"Kind":"OBJECT","Name":"User"},'
    + '{"BuiltIn":false,"Description":"","EnumValues":[{"Description":"","Name":"ADMIN"}],"Kind":"ENUM","Name":"Role"}]}');
  t.equal(call('graphql.parse_query', '["{ unclosed"]'), '', 'syntax errors are errors');
  t.equal(call('graphql.parse_query', '["type T { a: Int }"]'), '', 'a query holds no type definitions');
  t.equal(call('graphql.parse_schema', '["type T {}"]'), '', 'types need fields');
});

t.test('graphql: validation the way OPA does it', async (t) => {
  const schema = json('type Query { user(id: ID!): User } type User { name: String }');
  t.equal(call('graphql.schema_is_valid', `[${schema}]`), 'true');
  t.equal(call('graphql.schema_is_valid', '["type Hello { world: String }"]'), 'true', 'no Query type needed');
  t.equal(call('graphql.schema_is_valid', '["extend type Query { a: Int }"]'), 'true', 'extending an undefined type defines it');
  t.equal(call('graphql.schema_is_valid', '["union U = Missing"]'), 'false');
  t.equal(call('graphql.is_valid', `["{ user(id: \\"1\\") { name } }", ${schema}]`), 'true');
  t.equal(call('graphql.is_valid', `["{ user { name } }", ${schema}]`), 'false', 'a required argument is missing');
  t.equal(call('graphql.is_valid', `["{ user(id: \\"1\\") { email } }", ${schema}]`), 'false', 'unknown field');
  const [valid, , ] = JSON.parse(call('graphql.parse_and_verify', `["{ nope }", ${schema}]`)) as [boolean, unknown, unknown];
  t.equal(valid, false);
  t.equal(call('graphql.parse', `["{ nope }", ${schema}]`), '', 'parse fails on an invalid query');
  const queryAst = call('graphql.parse_query', '["{ user(id: \\"1\\") { name } }"]');
  const schemaAst = call('graphql.parse_schema', `[${schema}]`);
  t.equal(call('graphql.is_valid', `[${queryAst}, ${schemaAst}]`), 'true', 'ASTs are accepted in place of text');
  t.equal(call('graphql.schema_is_valid', `[${schemaAst}]`), 'true');
});

t.test('x509 certificates, chains, requests and keys', async (t) => {
  const keys = (): { pem: string; forgePrivate: forge.pki.rsa.PrivateKey; forgePublic: forge.pki.rsa.PublicKey } => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = privateKey.export({ format: 'pem', type: 'pkcs1' }) as string;
    const forgePrivate = forge.pki.privateKeyFromPem(pem);
    return { pem, forgePrivate, forgePublic: forge.pki.setRsaPublicKey(forgePrivate.n, forgePrivate.e) };
  };
  const issue = (subject: string, key: ReturnType<typeof keys>, issuer: { name: string; key: ReturnType<typeof keys> }, ca: boolean, san: { type: number; value: string }[] = []): string => {
    const cert = forge.pki.createCertificate();
    cert.publicKey = key.forgePublic;
    cert.serialNumber = ca ? '0a' : '7fffffffffffffffff';
    cert.validity.notBefore = new Date(Date.now() - 3600_000);
    cert.validity.notAfter = new Date(Date.now() + 3600_000);
    cert.setSubject([{ shortName: 'CN', value: subject }, { shortName: 'O', value: 'Portcullis Test' }]);
    cert.setIssuer([{ shortName: 'CN', value: issuer.name }, { shortName: 'O', value: 'Portcullis Test' }]);
    cert.setExtensions([{ name: 'basicConstraints', cA: ca }, ...(san.length ? [{ name: 'subjectAltName', altNames: san }] : [])]);
    cert.sign(issuer.key.forgePrivate, forge.md.sha256.create());
    return forge.pki.certificateToPem(cert);
  };
  const rootKey = keys();
  const leafKey = keys();
  const root = issue('Test Root', rootKey, { name: 'Test Root', key: rootKey }, true);
  const leaf = issue('agent.local', leafKey, { name: 'Test Root', key: rootKey }, false,
    [{ type: 2, value: 'agent.local' }, { type: 6, value: 'spiffe://portcullis/agent' }]);

  const parsed = JSON.parse(call('crypto.x509.parse_certificates', `[${json(leaf + root)}]`)) as Record<string, unknown>[];
  t.equal(parsed.length, 2);
  t.match(parsed[0], { Subject: { CommonName: 'agent.local', Organization: ['Portcullis Test'] }, DNSNames: ['agent.local'], URIStrings: ['spiffe://portcullis/agent'], IsCA: false });
  t.match(call('crypto.x509.parse_certificates', `[${json(leaf)}]`), /"SerialNumber":2361183241434822606847,/, 'big serial numbers stay exact');
  t.match(parsed[1], { Subject: { CommonName: 'Test Root' }, DNSNames: null, IsCA: true });
  const b64 = Buffer.from(root).toString('base64');
  t.match(call('crypto.x509.parse_certificates', `[${json(b64)}]`), /"CommonName":"Test Root"/, 'base64 PEM');
  t.equal(call('crypto.x509.parse_certificates', '["not base64!"]'), '');

  const verified = JSON.parse(call('crypto.x509.parse_and_verify_certificates', `[${json(root + leaf)}]`)) as [boolean, { Subject: { CommonName: string } }[]];
  t.equal(verified[0], true);
  t.same(verified[1].map((c) => c.Subject.CommonName), ['agent.local', 'Test Root'], 'leaf first');
  const stranger = issue('agent.local', leafKey, { name: 'Test Root', key: keys() }, false);
  t.equal(call('crypto.x509.parse_and_verify_certificates', `[${json(root + stranger)}]`), '[false,[]]', 'a signature by another key');

  const jwk = JSON.parse(call('crypto.x509.parse_rsa_private_key', `[${json(leafKey.pem)}]`)) as Record<string, string>;
  t.equal(jwk['kty'], 'RSA');
  t.ok(jwk['d'] && jwk['qi']);
  t.match(call('crypto.x509.parse_keypair', `[${json(leaf)}, ${json(leafKey.pem)}]`), /^\{"Certificate":\["MII/);
  t.equal(call('crypto.x509.parse_keypair', `[${json(leaf)}, ${json(rootKey.pem)}]`), '', 'the key must match the certificate');
  t.equal(call('crypto.parse_private_keys', `[${json(leafKey.pem + rootKey.pem)}]`).startsWith('[{'), true);
  t.equal(call('crypto.parse_private_keys', '[""]'), 'null');

  const csr = forge.pki.createCertificationRequest();
  csr.publicKey = leafKey.forgePublic;
  csr.setSubject([{ shortName: 'CN', value: 'csr.local' }]);
  csr.sign(leafKey.forgePrivate, forge.md.sha256.create());
  t.match(call('crypto.x509.parse_certificate_request', `[${json(forge.pki.certificationRequestToPem(csr))}]`), /"CommonName":"csr.local"/);
  t.equal(call('crypto.x509.parse_certificate_request', '["YmFkc3RyaW5n"]'), '');
});

t.test('providers.aws.sign_req (Signature Version 4)', async (t) => {
  const config = { aws_access_key: 'AKIDPORTCULLIS', aws_secret_access_key: 'portcullis-test-secret', aws_service: 'sts', aws_region: 'eu-west-1', aws_session_token: 'tok' };
  const req = { method: 'POST', url: 'https://sts.example.com/path/x?b=2&a=1', headers: { 'Content-Type': 'application/json' }, raw_body: '{"k":1}' };
  const signed = JSON.parse(call('providers.aws.sign_req', `[${json(req)}, ${json(config)}, 1700000000000000000]`)) as { headers: Record<string, string> };
  t.equal(signed.headers['Authorization'], 'AWS4-HMAC-SHA256 Credential=AKIDPORTCULLIS/20231114/eu-west-1/sts/aws4_request,'
    + 'SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date;x-amz-security-token,'
    + 'Signature=3c8649f030c4765d5d4ab06a807df83388f03d1c57005a00a6afffcc8cdefc03');
  t.equal(signed.headers['x-amz-date'], '20231114T221320Z');
  t.equal(signed.headers['x-amz-security-token'], 'tok');
  const unsigned = JSON.parse(call('providers.aws.sign_req', `[${json(req)}, ${json({ ...config, disable_payload_signing: true })}, 1700000000000000000]`)) as { headers: Record<string, string> };
  t.equal(unsigned.headers['x-amz-content-sha256'], 'UNSIGNED-PAYLOAD');
  t.not(unsigned.headers['Authorization'], signed.headers['Authorization']);
  t.equal(call('providers.aws.sign_req', `[{"url": "https://x"}, ${json(config)}, 0]`), '', 'the method is required');
  t.equal(call('providers.aws.sign_req', `[${json(req)}, {"aws_access_key": "a"}, 0]`), '', 'credentials are required');
  t.equal(call('providers.aws.sign_req', `[${json(req)}, ${json({ ...config, disable_payload_signing: 'yes' })}, 0]`), '');
});

t.test('regex.globs_match intersects glob patterns', async (t) => {
  t.equal(call('regex.globs_match', '["a.c", "[a-z]bc"]'), 'true');
  t.equal(call('regex.globs_match', '["a+", "b*"]'), 'false', 'no common non-empty string');
  t.equal(call('regex.globs_match', '["x[0-9]+y", "x12*y"]'), 'true');
  t.equal(call('regex.globs_match', '["ab]", "a"]'), '', 'an unbalanced class is an error');
});
