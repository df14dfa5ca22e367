/** Aggregates over arrays and sets, and the set operations. */
import { items, num, set, type BuiltinTable } from '../operands.js';
import { RegoSet, compare, type Value } from '../value.js';
import { multiplyNumbers } from './numbers.js';

function extreme(sign: 1 | -1) {
  return (c: Value | undefined): Value | undefined => {
    const xs = items(c);
    if (xs.length === 0) return undefined;
    return xs.reduce((best, x) => (compare(x, best) * sign > 0 ? x : best));
  };
}

export const aggregateBuiltins: BuiltinTable = {
  'product': (c) => multiplyNumbers(items(c).map(num)),
  'max': extreme(1),
  'min': extreme(-1),
  'sort': (c) => [...items(c)].sort(compare),
  'all': (c) => items(c).every((x) => x === true),
  'any': (c) => items(c).some((x) => x === true),
  'union': (c) => {
    const out = new RegoSet();
    for (const s of set(c).members.values()) for (const x of set(s).members.values()) out.add(x);
    return out;
  },
  'intersection': (c) => {
    const sets = [...set(c).members.values()].map(set);
    const [first, ...rest] = sets;
    if (first === undefined) return new RegoSet();
    return new RegoSet([...first.members.values()].filter((x) => rest.every((s) => s.has(x))));
  },
  'set_diff': (a, b) => {
    const sb = set(b);
    return new RegoSet([...set(a).members.values()].filter((x) => !sb.has(x)));
  },
};

