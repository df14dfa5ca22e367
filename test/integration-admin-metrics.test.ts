/** /admin/metrics on the main listener (no metrics.listen): admins read it, agents and wrong tokens do not. */
import { createHash } from 'node:crypto';
import t from 'tap';
import { connectClient, startTestGateway, tlsFetch } from './fixtures/gateway-harness.js';

const TOKEN = 'integration-metrics-admin-token-0123456789';

t.test('metrics behind admin authentication', async (t) => {
  const g = await startTestGateway(t, {
    holds: { approvers: { ops: { roles: ['approver'], token_sha256: createHash('sha256').update(TOKEN).digest('hex') } } },
  });
  t.equal(g.gateway.metricsUrl, undefined, 'no listener of its own');
  const agentTls = { ca: g.ca, ...g.issue('demo') };
  const client = await connectClient(t, `${g.gateway.url}/mcp/everything`, agentTls);
  await client.callTool({ name: 'echo', arguments: { message: 'hi' } });

  const url = `${g.gateway.url}/admin/metrics`;
  // The mTLS listener needs a client certificate for any connection; the admin is told apart by token.
  const withAgentCert = tlsFetch(t, agentTls);
  t.equal((await withAgentCert(url)).status, 403, 'an agent certificate is not an admin');
  t.equal((await withAgentCert(url, { headers: { authorization: `Bearer ${TOKEN.replace('admin', 'guess')}` } })).status, 401, 'a wrong token');
  const res = await withAgentCert(url, { headers: { authorization: `Bearer ${TOKEN}` } });
  t.equal(res.status, 200);
  t.match(await res.text(), /portcullis_requests_total\{server="everything",method="tools\/call",decision="allow"\} 1/);
});
