import t from 'tap';
import { hostBuiltinImports } from '../gateway/policy/builtins/index.js';
import { HOST_PREFIX } from '../gateway/policy/builtins/wire.js';

const host = hostBuiltinImports();
const call = (name: string, args: string): string => host[HOST_PREFIX + name]!(args);

t.test('containment and intersection', async (t) => {
  t.equal(call('net.cidr_contains', '["10.0.0.0/8", "10.200.1.1"]'), 'true');
  t.equal(call('net.cidr_contains', '["10.0.0.0/8", "10.1.0.0/16"]'), 'true');
  t.equal(call('net.cidr_contains', '["10.1.0.0/16", "10.0.0.0/8"]'), 'false');
  t.equal(call('net.cidr_contains', '["fd00::/8", "fd12::1"]'), 'true');
  t.equal(call('net.cidr_contains', '["10.0.0.0/8", "fd12::1"]'), 'false', 'families do not mix');
  t.equal(call('net.cidr_contains', '["10.0.0.0/33", "10.0.0.1"]'), '', 'invalid prefix');
  // Addresses as Go reads them: IPv4-mapped IPv6 is IPv4; IPv4-compatible (::a.b.c.d) stays IPv6.
  t.equal(call('net.cidr_contains', '["10.0.0.0/8", "::ffff:10.0.0.1"]'), 'true');
  t.equal(call('net.cidr_contains', '["0.0.0.0/0", "::8.8.8.8"]'), 'false');
  t.equal(call('net.cidr_contains', '["::/96", "::8.8.8.8"]'), 'true');
  t.equal(call('net.cidr_contains', '["0.0.0.0/0", "01.2.3.4"]'), '', 'leading zeros are not an address');
  t.equal(call('net.cidr_intersects', '["192.168.0.0/23", "192.168.1.0/24"]'), 'true');
  t.equal(call('net.cidr_intersects', '["192.168.0.0/24", "192.168.1.0/24"]'), 'false');
  t.equal(call('net.cidr_is_valid', '["192.168.0.0/24"]'), 'true');
  t.equal(call('net.cidr_is_valid', '["192.168.0.1"]'), 'false', 'an address is not a CIDR');
});

t.test('expand and merge', async (t) => {
  t.equal(call('net.cidr_expand', '["192.168.1.2/31"]'), '{"192.168.1.2","192.168.1.3"}');
  t.equal(call('net.cidr_expand', '["10.0.0.0/8"]'), '', 'too large to expand');
  t.equal(call('net.cidr_merge', '[["10.0.0.0/25", "10.0.0.128/25", "10.0.1.0/24", "10.0.3.7/32"]]'), '{"10.0.0.0/23","10.0.3.7/32"}');
  t.equal(call('net.cidr_merge', '[["192.0.2.7", "192.0.3.0/24"]]'), '{"192.0.2.0/23"}', 'a bare IPv4 address stands for its classful network');
  t.equal(call('net.cidr_merge', '[{"10.0.0.0/24", "10.0.0.5/32"}]'), '{"10.0.0.0/24"}');
  t.equal(call('net.cidr_merge', '[["2001:db8::/33", "2001:db8:8000::/33", "10.0.0.1/32"]]'), '{"10.0.0.1/32","2001:db8::/32"}');
  t.equal(call('net.cidr_merge', '[["2001:db8::1"]]'), '', 'IPv6 addresses need a prefix');
});

t.test('cidr_contains_matches keys results by the operands', async (t) => {
  t.equal(call('net.cidr_contains_matches', '[["10.0.0.0/8", "192.168.0.0/16"], ["10.1.1.1", "8.8.8.8", "192.168.3.4"]]'), '{[0,0],[1,2]}');
  t.equal(call('net.cidr_contains_matches', '[{"corp": ["10.0.0.0/8", "tag"]}, {"10.9.9.9"}]'), '{["corp","10.9.9.9"]}');
  t.equal(call('net.cidr_contains_matches', '["10.0.0.0/8", [1]]'), '', 'elements must be strings or tuples');
});
