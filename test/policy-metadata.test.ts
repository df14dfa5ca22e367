// `# METADATA` annotations: rego.metadata.rule() / chain() in compiled policies, and the annotations of a policy folder.
import t from 'tap';
import { compile } from '../gateway/policy/compile.js';
import { PolicyEngine } from '../gateway/policy/engine/engine.js';
import { readPolicyAnnotations } from '../gateway/policy/annotations.js';
import { RegoError } from '../gateway/policy/rego/ast.js';
import { policyFolder } from './fixtures/policy-cli.js';

const ROOT = `# METADATA
# scope: subpackages
# organizations: [Example Corp]
package acme
`;

const AUTHZ = `# METADATA
# title: Authorization
# description: Who may call which tool
package acme.authz

import rego.v1

# METADATA
# scope: document
# description: the decision for every call
# METADATA
# title: Deny unknown agents
# authors:
# - Ada Lovelace <ada@example.com>
# related_resources:
# - https://example.com/controls/ac-3
# custom:
#   controls: [AC-3, AC-6]
#   severity: high
allow := {"rule": rego.metadata.rule(), "chain": rego.metadata.chain()} if input.agent == "known"

allow := {"rule": rego.metadata.rule(), "chain": rego.metadata.chain()} if input.agent == "other"
`;

function evaluate(modules: Record<string, string>, entrypoint: string, input: unknown): unknown {
  const engine = new PolicyEngine(compile({ modules, entrypoints: [entrypoint] }), { revision: 'test', entrypoint });
  return (engine.evaluate(input, entrypoint) as Array<{ result?: unknown }>)[0]?.result;
}

const ruleAnnotations = {
  scope: 'rule',
  title: 'Deny unknown agents',
  authors: [{ name: 'Ada Lovelace', email: 'ada@example.com' }],
  related_resources: [{ ref: 'https://example.com/controls/ac-3' }],
  custom: { controls: ['AC-3', 'AC-6'], severity: 'high' },
};
const outer = [
  { path: ['acme', 'authz', 'allow'], annotations: { scope: 'document', description: 'the decision for every call' } },
  { path: ['acme', 'authz'], annotations: { scope: 'package', title: 'Authorization', description: 'Who may call which tool' } },
  { path: ['acme'], annotations: { scope: 'subpackages', organizations: ['Example Corp'] } },
];

t.test('rule() is the rule-scoped annotation; chain() runs rule, document, package, subpackages', async (t) => {
  const modules = { 'root.rego': ROOT, 'authz.rego': AUTHZ };
  t.same(evaluate(modules, 'acme/authz/allow', { agent: 'known' }), {
    rule: ruleAnnotations,
    chain: [{ path: ['acme', 'authz', 'allow'], annotations: ruleAnnotations }, ...outer],
  });
  t.same(evaluate(modules, 'acme/authz/allow', { agent: 'other' }), {
    rule: {},
    chain: [{ path: ['acme', 'authz', 'allow'] }, ...outer],
  }, 'a rule without its own annotation: rule() is {}, chain() starts with its bare path');
});

t.test('readPolicyAnnotations lists every annotation of the running modules, for reports reading custom.controls', async (t) => {
  const dir = policyFolder(t, {
    'root.rego': ROOT,
    'authz/authz.rego': AUTHZ,
    'authz/authz_test.rego': '# METADATA\n# title: a test\npackage acme.authz_test\n',
  });
  const found = readPolicyAnnotations(dir);
  t.same(found.map((a) => [a.file, a.line, a.scope, a.path.join('.')]), [
    ['authz/authz.rego', 1, 'package', 'acme.authz'],
    ['authz/authz.rego', 8, 'document', 'acme.authz.allow'],
    ['authz/authz.rego', 11, 'rule', 'acme.authz.allow'],
    ['root.rego', 1, 'subpackages', 'acme'],
  ], 'test modules are left out');
  const controls = found.flatMap((a) => ((a.annotations.custom as { controls?: string[] } | undefined)?.controls ?? []));
  t.same(controls, ['AC-3', 'AC-6']);
});

t.test('a malformed METADATA block is a parse error at the block', async (t) => {
  const cases: Array<[string, RegExp]> = [
    ['package p\n\n# METADATA\n# titel: typo\nallow := true\n', /unknown key 'titel'/],
    ['package p\n\n# METADATA\n# scope: package\nallow := true\n', /scope 'package' must precede the package/],
    ['# METADATA\n# scope: rule\npackage p\n', /scope 'rule' must precede a rule/],
    ['package p\n\n# METADATA\n# title: [unclosed\nallow := true\n', /not YAML/],
    ['package p\n\n# METADATA\n# authors: Ada\nallow := true\n', /authors must be a list/],
  ];
  for (const [source, message] of cases) {
    const dir = policyFolder(t, { 'p.rego': source });
    const err = t.throws(() => readPolicyAnnotations(dir)) as RegoError;
    t.type(err, RegoError);
    t.match(err.message, message);
    t.match(err.message, /^p\.rego:\d+:1: rego_parse_error: invalid METADATA block/, 'names the file and line of the block');
  }
});
