/**
 * Agent definitions are data: the shipped ones load and say what the issue
 * asks of them; a broken one is refused with its file and line.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { builtinDefinitionsDir, DefinitionError, loadDefinition, loadDefinitions } from '../agents/catalog/load.js';
import { fillTemplate } from '../agents/catalog/template.js';

const GOOD = `---
name: helper
role: worker
description: Helps.
models:
  - { provider: anthropic, model: m1 }
  - { provider: local, model: m2 }
tools: [filesystem__read_*]
budgets: { turns: 3, tokens: 1000, wall_clock_s: 10 }
---
Do {{task}} with {{inputs}}.
`;

t.test('the shipped definitions', async (t) => {
  const all = loadDefinitions(builtinDefinitionsDir());
  t.same([...all.keys()].sort(), ['coder', 'orchestrator', 'researcher', 'reviewer', 'spec', 'tester']);
  const orchestrator = all.get('orchestrator');
  t.same(orchestrator?.roles, ['planner', 'synthesizer']);
  t.match(orchestrator?.prompts.planner, /\{\{agents\}\}/, 'the planner prompt lists the agents');
  t.match(orchestrator?.prompts.synthesizer, /\{\{inputs\}\}/, 'the synthesizer prompt gets the results');
  t.same(orchestrator?.tools, [], 'the orchestrator asks for no tools');
  const reviewer = all.get('reviewer');
  t.ok(reviewer?.tools.every((p) => !/write|edit|move|create/.test(p)), 'the reviewer only reads');
  t.ok(reviewer?.outputSchema, 'the reviewer answers in a schema');
  for (const definition of all.values()) t.ok(definition.models.length >= 2, `${definition.name} has a model to fail over to`);
});

t.test('templates fill once, without re-expanding values', async (t) => {
  t.equal(fillTemplate('a {{task}} b {{ inputs }} c {{error}}', { task: '{{inputs}}', inputs: 'X' }), 'a {{inputs}} b X c ');
});

t.test('a broken definition names its file and line', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'portcullis-definitions-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const refused = (text: string): DefinitionError => {
    const file = path.join(dir, 'helper.md');
    writeFileSync(file, text);
    try {
      loadDefinition(file);
    } catch (err) {
      if (err instanceof DefinitionError) return err;
      throw err;
    }
    throw new Error('the definition was accepted');
  };
  const cases: Array<[string, string, number, RegExp]> = [
    ['an unknown key', GOOD.replace('tools:', 'colour: blue\ntools:'), 8, /unknown key "colour"/],
    ['an unknown key in budgets', GOOD.replace('wall_clock_s: 10', 'wall_clock_s: 10, money: 5'), 9, /unknown key "money" in "budgets"/],
    ['an unknown role', GOOD.replace('role: worker', 'role: boss'), 3, /"role"/],
    ['a missing key', GOOD.replace('description: Helps.\n', ''), 2, /missing key "description"/],
    ['a model without a provider', GOOD.replace('{ provider: local, model: m2 }', '{ model: m2 }'), 7, /missing key "provider" in "models.1"/],
    ['a tool pattern that is not server__tool', GOOD.replace('filesystem__read_*', 'read_file'), 8, /"tools.0" must match pattern/],
    ['a budget out of range', GOOD.replace('turns: 3', 'turns: 0'), 9, /"budgets.turns" must be >= 1/],
    ['an unknown placeholder', GOOD.replace('{{inputs}}', '{{inptus}}'), 11, /unknown placeholder \{\{inptus\}\}/],
    ['bad YAML', GOOD.replace('tools: [filesystem__read_*]', 'tools: [filesystem__read_*'), 9, /not valid YAML/],
    ['no front matter', 'Just a prompt.', 1, /starts with a `---` line/],
    ['a broken output schema', GOOD.replace('tools:', 'output_schema: { type: wrong }\ntools:'), 8, /output_schema is not a usable JSON Schema/],
    ['several roles without their sections', GOOD.replace('role: worker', 'role: [planner, synthesizer]'), 11, /needs a "## planner" section/],
  ];
  for (const [what, text, line, reason] of cases) {
    const err = refused(text);
    t.match(err.message, new RegExp(`^${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/helper\\.md:${line}: `), `${what}: file:line (${err.message})`);
    t.match(err.reason, reason, what);
  }
  writeFileSync(path.join(dir, 'helper.md'), GOOD);
  writeFileSync(path.join(dir, 'twin.md'), GOOD);
  t.throws(() => loadDefinitions(dir), /twin\.md:2: the name "helper" is taken by/);
});
