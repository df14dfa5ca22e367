// `node --import` preload for the MCP conformance CLI:
// - supplies fs.globSync on Node 20 (module hooks, mcp-conformance-hooks.mjs);
// - when CONFORMANCE_TLS_CA, CONFORMANCE_TLS_CERT and CONFORMANCE_TLS_KEY name
//   PEM files, every fetch and undici request of the CLI trusts that CA and
//   presents that client certificate (the gateway's mTLS). The server
//   certificate is checked against the URL's host, not a Host header the
//   suite forges (dns-rebinding-protection): the forged Host must reach the
//   gateway, whose own Host/Origin check is what that scenario tests.
import { readFileSync } from 'node:fs';
import { register } from 'node:module';
import { Agent, buildConnector, setGlobalDispatcher } from 'undici';

register(new URL('./mcp-conformance-hooks.mjs', import.meta.url));

const { CONFORMANCE_TLS_CA: ca, CONFORMANCE_TLS_CERT: cert, CONFORMANCE_TLS_KEY: key } = process.env;
if (ca !== undefined || cert !== undefined || key !== undefined) {
  if (ca === undefined || cert === undefined || key === undefined) {
    throw new Error('CONFORMANCE_TLS_CA, CONFORMANCE_TLS_CERT and CONFORMANCE_TLS_KEY must be set together');
  }
  const read = (file) => readFileSync(file, 'utf8');
  const connector = buildConnector({ ca: read(ca), cert: read(cert), key: read(key) });
  setGlobalDispatcher(new Agent({ connect: (options, callback) => connector({ ...options, servername: null }, callback) }));
}
