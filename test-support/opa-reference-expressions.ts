/**
 * A seeded generator of Rego rules for differential testing: typed random
 * expressions over operators and built-ins (strings, numbers, sets, objects,
 * arrays, comprehensions), placed in rule shapes that exercise `some`,
 * `every`, `not`, `else`, defaults, partial set and object rules, functions
 * and multi-body rules (whose conflicting values are errors in both engines).
 *
 * Arguments come from the input document (`input.n1`, `input.s1`, ...), whose
 * values are drawn per probe, sometimes of the wrong type: OPA's type checker
 * only sees `any` there, so a bad argument is a run-time built-in error
 * (undefined in both engines) rather than a compile error of the whole module.
 * Negated expressions only take arguments that are always defined: OPA
 * hoists a built-in call's arguments out of `not` (open-policy-agent/opa
 * #1877), Portcullis does not (see the named cases in the test).
 * Expressions are typed so that the compile-time checker accepts them, and
 * every infix expression is parenthesised: OPA 0.47 cannot parse an infix
 * operator in a comprehension head (`[x + 1 | ...]`, open-policy-agent/opa
 * #4215), and `{a | b, c}` would read as a comprehension.
 */
import type { Random } from './opa-reference-random.js';
import type { Probe } from './opa-reference-value.js';

type Ty = 'num' | 'str' | 'bool' | 'arrN' | 'arrS' | 'set' | 'obj' | 'any';
const VALUE_TYPES: readonly Ty[] = ['num', 'str', 'bool', 'arrN', 'arrS', 'set', 'obj'];

/** Input fields by type; any field may hold another type in a probe. */
const FIELDS: Record<Exclude<Ty, 'any'>, string[]> = {
  num: ['input.n1', 'input.n2'], str: ['input.s1', 'input.s2'], bool: ['input.b'], arrN: ['input.an'],
  arrS: ['input.ss'], set: [], obj: ['input.o'],
};

const NUMBERS = [0, 1, 2, 3, -1, -3, 7, 10, 16, 100, 0.5, 2.5, -2.5, 1.5, 0.1, 3.75, 1e3, 65, 255];
const STRINGS = ['', 'a', 'ab', 'abc', 'Hello World', ' padded ', 'a,b,,c', 'x.y.z', '-_-', '\u00fcml\u00e4ut', '\u65e5\u672c\u8a9e', '12', '-3.5', '1e3', '0x1F', 'aaa', 'A-Z', 'foo/bar', '%d'];
const KEYS = ['a', 'b', 'c', 'x', ''];
const PATTERNS = ['^a', 'b+', '^[a-z]*$', '\\d', 'a|b', '^$', '[.]', '(?i)hello'];
const GLOBS = ['a*', '*.z', '*', '?b*', '[a-c]*', '{a,b}*', 'x.*.z', '**'];
const CIDRS = ['10.0.0.0/8', '127.0.0.0/8', '0.0.0.0/0', '::/0', 'fe80::/10', '192.168.1.0/24', '::ffff:0:0/96'];
const ADDRESSES = ['10.1.2.3', '127.0.0.1', '::1', 'fe80::1', '192.168.1.255', '::ffff:10.0.0.1', '1.2.3', '10.0.0.0/16'];

/** Bound variables in scope while generating an expression. */
type Scope = ReadonlyArray<{ name: string; ty: Ty }>;

class ExpressionGenerator {
  private fresh = 0;

  constructor(private readonly r: Random) {}

  freshVar(): string {
    return `v${this.fresh++}`;
  }

  literal(ty: Ty): string {
    const r = this.r;
    switch (ty) {
      case 'num': return String(r.pick(NUMBERS));
      case 'str': return JSON.stringify(r.pick(STRINGS));
      case 'bool': return r.pick(['true', 'false']);
      case 'arrN': return `[${r.several(NUMBERS, r.int(4)).join(', ')}]`;
      case 'arrS': return `[${r.several(STRINGS, r.int(4)).map((s) => JSON.stringify(s)).join(', ')}]`;
      case 'set': return r.chance(0.2) ? 'set()' : `{${[...r.several(NUMBERS, 1 + r.int(2)).map(String), ...r.several(STRINGS, r.int(2)).map((s) => JSON.stringify(s))].join(', ')}}`;
      case 'obj': return `{${r.several(KEYS, r.int(4)).map((k) => `${JSON.stringify(k)}: ${this.literal(r.pick(['num', 'str', 'bool', 'arrN'] as const))}`).join(', ')}}`;
      case 'any': return this.literal(r.pick(VALUE_TYPES));
    }
  }

  leaf(ty: Ty, scope: Scope): string {
    const r = this.r;
    const bound = scope.filter((v) => v.ty === ty || ty === 'any');
    if (bound.length > 0 && r.chance(0.5)) return r.pick(bound).name;
    if (ty === 'any') return r.chance(0.3) ? 'input.m' : this.leaf(r.pick(VALUE_TYPES), scope);
    const fields = FIELDS[ty];
    return fields.length > 0 && r.chance(0.6) ? r.pick(fields) : this.literal(ty);
  }

  expr(ty: Ty, depth: number, scope: Scope = []): string {
    if (depth <= 0 || this.r.chance(0.25)) return this.leaf(ty, scope);
    const d = depth - 1;
    const g = (t: Ty): string => this.expr(t, d, scope);
    const r = this.r;
    const comprehension = (elem: Ty, coll: Ty, head: (v: string, s: Scope) => string, open: string, close: string): string => {
      const v = this.freshVar();
      const s: Scope = [...scope, { name: v, ty: elem }];
      const filter = r.chance(0.5) ? `; ${this.condition(v, d, s)}` : '';
      return `${open}${head(v, s)} | some ${v} in ${g(coll)}${filter}${close}`;
    };
    const options: Record<Ty, Array<() => string>> = {
      num: [
        () => `(${g('num')} ${r.pick(['+', '-', '*', '/', '%'])} ${g('num')})`,
        () => `abs(${g('num')})`,
        // Of a non-negative number: OPA 0.47 rounds values in (-1, 0) wrongly (see the named cases).
        () => `${r.pick(['round', 'ceil', 'floor'])}(abs(${g('num')}))`,
        () => `count(${g(r.pick(['arrN', 'arrS', 'str', 'obj', 'set'] as const))})`,
        () => `${r.pick(['sum', 'product', 'max', 'min'])}(${g('arrN')})`,
        () => `to_number(${g('str')})`,
        () => `indexof(${g('str')}, ${g('str')})`,
        () => `bits.${r.pick(['and', 'or', 'xor'])}(${g('num')}, ${g('num')})`,
        () => `bits.lsh(${g('num')}, ${r.int(8)})`,
        () => `units.parse_bytes(${JSON.stringify(r.pick(['1K', '2MiB', '10', '1.5G', 'x', '3kb']))})`,
      ],
      str: [
        () => `concat(${g('str')}, ${g('arrS')})`,
        () => `${r.pick(['lower', 'upper', 'trim_space', 'strings.reverse'])}(${g('str')})`,
        // Integer offsets: OPA 0.47 and current OPA differ on a start past the end with a fractional length (named cases).
        () => `substring(${g('str')}, ${r.int(6)}, ${r.int(6) - 1})`,
        () => `replace(${g('str')}, ${g('str')}, ${g('str')})`,
        () => `${r.pick(['trim', 'trim_left', 'trim_right', 'trim_prefix', 'trim_suffix'])}(${g('str')}, ${g('str')})`,
        () => `format_int(${g('num')}, ${r.pick([2, 8, 10, 16])})`,
        () => `sprintf(${JSON.stringify(r.pick(['%v', '%d', '%s', '%v-%v', '%x', '%.2f']))}, [${g('any')}, ${g('any')}])`,
        () => `json.marshal(${g('any')})`,
        () => `type_name(${g('any')})`,
        () => `${r.pick(['base64.encode', 'base64url.encode', 'hex.encode', 'urlquery.encode', 'glob.quote_meta', 'base64.decode'])}(${g('str')})`,
        () => `strings.replace_n({${JSON.stringify(r.pick(STRINGS))}: ${g('str')}}, ${g('str')})`,
        () => `concat("|", sort(${g('arrS')}))`,
      ],
      bool: [
        () => `(${g('any')} ${r.pick(['==', '!=', '<', '<=', '>', '>='])} ${g('any')})`,
        () => `(${g(r.pick(['num', 'str'] as const))} ${r.pick(['<', '>='])} ${g('num')})`,
        () => `${r.pick(['startswith', 'endswith', 'contains'])}(${g('str')}, ${g('str')})`,
        () => `${r.pick(['is_number', 'is_string', 'is_array', 'is_set', 'is_object', 'is_boolean', 'is_null'])}(${g('any')})`,
        () => `regex.match(${JSON.stringify(r.pick(PATTERNS))}, ${g('str')})`,
        () => `${r.pick(['json.is_valid', 'regex.is_valid'])}(${g('str')})`,
        () => `strings.any_prefix_match(${g(r.pick(['str', 'arrS'] as const))}, ${g(r.pick(['str', 'arrS'] as const))})`,
        () => `net.cidr_contains(${JSON.stringify(r.pick(CIDRS))}, ${r.chance(0.5) ? JSON.stringify(r.pick(ADDRESSES)) : g('str')})`,
        () => `glob.match(${JSON.stringify(r.pick(GLOBS))}, ${r.pick(['null', '["."]', '[]'])}, ${g('str')})`,
        () => `(${g('any')} in ${g(r.pick(['arrN', 'arrS', 'set', 'obj'] as const))})`,
        () => `(count(${comprehension('any', r.pick(['arrN', 'set', 'obj'] as const), (v) => v, '[', ']')}) > ${r.int(3)})`,
      ],
      arrN: [
        () => `[${g('num')}, ${g('num')}]`,
        () => `array.concat(${g('arrN')}, ${g('arrN')})`,
        () => `array.slice(${g('arrN')}, ${g('num')}, ${g('num')})`,
        () => `array.reverse(${g('arrN')})`,
        () => `sort(${g('arrN')})`,
        () => comprehension('num', 'arrN', (v, s) => `(${v} ${r.pick(['*', '+', '-'])} ${this.expr('num', d - 1, s)})`, '[', ']'),
        () => `numbers.range(${r.int(5) - 2}, ${r.int(5)})`,
      ],
      arrS: [
        () => `split(${g('str')}, ${g('str')})`,
        () => `[${g('str')}, ${g('str')}]`,
        () => `sort(${g('arrS')})`,
        () => `array.concat(${g('arrS')}, ${g('arrS')})`,
        () => comprehension('str', 'arrS', (v) => `${r.pick(['lower', 'upper', 'trim_space'])}(${v})`, '[', ']'),
        () => `regex.split(${JSON.stringify(r.pick(PATTERNS))}, ${g('str')})`,
        () => `regex.find_n(${JSON.stringify(r.pick(PATTERNS))}, ${g('str')}, ${r.int(4) - 1})`,
        () => {
          const k = this.freshVar();
          return `[${k} | some ${k}, _ in ${g('obj')}]`;
        },
      ],
      set: [
        () => `{${g('any')}, ${g('any')}}`,
        () => `(${g('set')} ${r.pick(['|', '&', '-'])} ${g('set')})`,
        () => comprehension('any', r.pick(['arrN', 'arrS', 'set'] as const), (v) => v, '{', '}'),
        () => `${r.pick(['intersection', 'union'])}({${g('set')}, ${g('set')}})`,
        () => {
          const k = this.freshVar();
          return `{${k} | some ${k}, _ in ${g('obj')}}`;
        },
      ],
      obj: [
        // Distinct keys: OPA drops an earlier duplicate key's value unevaluated (see the named cases).
        () => {
          const [k1, k2] = [r.pick(KEYS), r.pick(KEYS)];
          return k1 === k2 ? `{${JSON.stringify(k1)}: ${g('any')}}` : `{${JSON.stringify(k1)}: ${g('any')}, ${JSON.stringify(k2)}: ${g('any')}}`;
        },
        () => `object.union(${g('obj')}, ${g('obj')})`,
        () => `object.${r.pick(['remove', 'filter'])}(${g('obj')}, ${g('arrS')})`,
        () => {
          const [k, v] = [this.freshVar(), this.freshVar()];
          const s: Scope = [...scope, { name: k, ty: 'str' }, { name: v, ty: 'any' }];
          return `{${k}: ${r.chance(0.5) ? v : this.expr('any', d - 1, s)} | some ${k}, ${v} in ${g('obj')}; ${this.condition(v, d, s)}}`;
        },
        () => `{${g('str')}: ${g('num')}}`,
        () => `json.unmarshal(json.marshal(${g('obj')}))`,
      ],
      any: [
        () => g(r.pick(VALUE_TYPES)),
        () => `object.get(${g('obj')}, ${g('str')}, ${g('num')})`,
        // OPA 0.47 cannot index a call's result (`f(x)[0]`): index input documents only.
        () => `input.an[${r.int(3)}]`,
        () => `input.o[${g('str')}]`,
      ],
    };
    return r.pick(options[ty])();
  }

  /**
   * A condition on a bound variable of unknown type; `plain`: one that can
   * itself be negated. No `==`: OPA type-checks it as unification, so when v
   * ranges over a literal (or is a function parameter) it rejects the module
   * for a comparison with another type.
   */
  condition(v: string, depth: number, scope: Scope, plain = false): string {
    const r = this.r;
    const ops = ['<', '>=', '!='];
    switch (plain ? r.pick([0, 1, 3, 4]) : r.int(5)) {
      case 0: return `${r.pick(['is_number', 'is_string', 'is_array', 'is_object'])}(${v})`;
      case 1: return `${v} ${r.pick(ops)} ${this.expr('any', depth - 1, scope)}`;
      case 2: return `not ${v} in ${this.leaf(r.pick(['set', 'arrN', 'arrS'] as const), scope)}`;
      // Not count(v) and the like: OPA's type checker rejects them when v ranges over a literal of another type.
      case 3: return `${r.pick(['type_name', 'json.marshal'])}(${v}) != ${JSON.stringify(r.pick(['number', 'string', '1', '"a"']))}`;
      // Always about v: OPA rejects a `some` variable that is never used.
      default: return `(${this.expr('any', depth - 1, scope)} ${r.pick(ops)} ${v})`;
    }
  }

  /** One rule named `name` (plus helpers prefixed with it), in one of several shapes. */
  rule(name: string): string {
    const r = this.r;
    const depth = 3;
    const e = (ty: Ty = r.pick(VALUE_TYPES), scope: Scope = []): string => this.expr(ty, depth, scope);
    const v = this.freshVar();
    const k = this.freshVar();
    switch (r.int(10)) {
      case 0: return `${name} := ${e()}`;
      case 1: return `${name} := ${e()} if {\n\t${e('bool')}\n} else := ${e()} if {\n\t${e('bool')}\n} else := ${e()}`;
      case 2: return `${name} contains ${v} if {\n\tsome ${v} in ${e(r.pick(['arrN', 'arrS', 'set'] as const))}\n\t${this.condition(v, depth, [{ name: v, ty: 'any' }])}\n}`;
      case 3: return `${name}[${k}] := ${v} if {\n\tsome ${k}, ${v} in ${e('obj')}\n\t${this.condition(v, depth, [{ name: v, ty: 'any' }])}\n}`;
      case 4: {
        const body = this.expr('any', depth, [{ name: 'a', ty: 'any' }, { name: 'b', ty: 'any' }]);
        const other = this.expr('any', depth, [{ name: 'a', ty: 'any' }, { name: 'b', ty: 'any' }]);
        const guard = this.condition('a', 0, [{ name: 'a', ty: 'any' }, { name: 'b', ty: 'any' }], true);
        const second = r.chance(0.5) ? `\n\n${name}_f(a, b) := ${other} if {\n\tnot ${guard}\n}` : '';
        return `${name}_f(a, b) := ${body} if {\n\t${guard}\n}${second}\n\n${name} := [${name}_f(${e('any')}, ${e('any')}), ${name}_f(${e('any')}, ${e('any')})]`;
      }
      // The domain is bound first: OPA 0.47 reports "var _ is unsafe" for `some k, _ in` comprehensions written as the domain.
      // Over a collection only: Portcullis and OPA disagree on `every` over a scalar (see the named cases).
      case 5: return `${name} if {\n\t${k} := ${e(r.pick(['arrN', 'arrS', 'set', 'obj'] as const))}\n\ttype_name(${k}) in {"array", "set", "object"}\n\tevery ${v} in ${k} {\n\t\t${this.condition(v, depth, [{ name: v, ty: 'any' }])}\n\t}\n}`;
      case 6: return `${name} contains [${k}, ${v}] if {\n\tsome ${k}, ${v} in ${e(r.pick(['arrN', 'arrS'] as const))}\n\t${this.condition(v, depth, [{ name: v, ty: 'any' }, { name: k, ty: 'num' }])}\n}`;
      case 7: return `default ${name} := "default"\n\n${name} := ${e()} if {\n\t${e('bool')}\n}`;
      case 8: return `${name} if {\n\t${v} := ${e('any')}\n\tnot ${this.condition(v, 0, [{ name: v, ty: 'any' }], true)}\n}`;
      default: {
        // Two bodies: both true with different values is an eval_conflict_error.
        const value = r.chance(0.5) ? e() : undefined;
        return `${name} := ${value ?? e()} if {\n\t${e('bool')}\n}\n\n${name} := ${value ?? e()} if {\n\t${e('bool')}\n}`;
      }
    }
  }
}

/** A random value of a type (JSON: sets only arise in expressions). */
function inputValue(r: Random, ty: Exclude<Ty, 'set' | 'any'>): unknown {
  switch (ty) {
    case 'num': return r.pick(NUMBERS);
    case 'str': return r.pick(STRINGS);
    case 'bool': return r.chance(0.5);
    case 'arrN': return r.several(NUMBERS, r.int(5));
    case 'arrS': return r.several(STRINGS, r.int(5));
    case 'obj': return Object.fromEntries(r.several(KEYS, r.int(4)).map((k) => [k, inputValue(r, r.pick(['num', 'str', 'bool', 'arrN'] as const))]));
  }
}

const INPUT_FIELDS: Array<[string, Exclude<Ty, 'set' | 'any'>]> = [
  ['n1', 'num'], ['n2', 'num'], ['s1', 'str'], ['s2', 'str'], ['b', 'bool'], ['an', 'arrN'], ['ss', 'arrS'], ['o', 'obj'], ['m', 'num'],
];

/** One input document: mostly well-typed, each field of the wrong type one time in ten. */
export function expressionInput(r: Random): Record<string, unknown> {
  const input: Record<string, unknown> = {};
  for (const [name, ty] of INPUT_FIELDS) {
    const actual = name === 'm' || r.chance(0.1) ? r.pick(['num', 'str', 'bool', 'arrN', 'arrS', 'obj'] as const) : ty;
    input[name] = inputValue(r, actual);
  }
  return input;
}

const EXPRESSION_PACKAGE = 'gen';

/** A module of `rules` generated rules and `inputsPerRule` probes of each. */
export function expressionProbes(r: Random, rules: number, inputsPerRule: number): { modules: Record<string, string>; probes: Probe[] } {
  const g = new ExpressionGenerator(r);
  const names = Array.from({ length: rules }, (_, i) => `r${i}`);
  const source = [`package ${EXPRESSION_PACKAGE}`, 'import rego.v1', ...names.map((n) => g.rule(n))].join('\n\n');
  const probes = names.flatMap((n) => Array.from({ length: inputsPerRule }, () => ({ query: `${EXPRESSION_PACKAGE}.${n}`, input: expressionInput(r) })));
  return { modules: { 'gen.rego': source }, probes };
}
