/**
 * Defaults whose value needs evaluation (`default p := [x | data.a[x]]`).
 * Group.default holds only constants, so the rule's own definitions move to a
 * hidden group (absent from the tree, hence invisible in data) and the rule
 * becomes two mutually exclusive definitions: the hidden group's value, or the
 * default expression when that value is undefined.
 */
import type { Def, Group } from './ir.js';

export function splitEvaluatedDefault(group: Group, defaultDef: Def, hiddenIndex: number): { rule: Group; hidden: Group } {
  const hidden: Group = { ...group, path: [...group.path, '(default)'] };
  const own: Def = { nslots: 1, keys: [], value: ['v', 0], body: [['ref', ['rule', hiddenIndex], [], 0]], elses: [] };
  const probe = defaultDef.nslots;
  const fallback: Def = {
    ...defaultDef,
    nslots: defaultDef.nslots + 1,
    body: [['not', [['ref', ['rule', hiddenIndex], [], probe]]], ...defaultDef.body],
  };
  return { rule: { ...group, defs: [own, fallback] }, hidden };
}
