/**
 * strings.render_template: the subset of Go's text/template that policies
 * use: {{.field.path}}, {{$var}}, {{if}}/{{else}}/{{end}} and
 * {{range [$i, ]$v := pipeline}}. A missing key is an error
 * (OPA renders with missingkey=error).
 */
import { BuiltinError } from '../operands.js';
import { serialiseJson } from '../codec.js';
import { RegoObject, RegoSet, isNumber, type Value } from '../value.js';

type Node =
  | { kind: 'text'; text: string }
  | { kind: 'print'; expr: string }
  | { kind: 'if'; expr: string; then: Node[]; else: Node[] }
  | { kind: 'range'; expr: string; keyVar?: string; valueVar?: string; body: Node[] };

function tokenize(src: string): (string | { action: string })[] {
  const out: (string | { action: string })[] = [];
  let i = 0;
  while (i < src.length) {
    const open = src.indexOf('{{', i);
    if (open < 0) {
      out.push(src.slice(i));
      break;
    }
    let text = src.slice(i, open);
    const close = src.indexOf('}}', open);
    if (close < 0) throw new BuiltinError('unclosed action');
    let action = src.slice(open + 2, close);
    i = close + 2;
    if (action.startsWith('-')) {
      text = text.trimEnd();
      action = action.slice(1);
    }
    if (action.endsWith('-')) {
      action = action.slice(0, -1);
      const rest = src.slice(i);
      i += rest.length - rest.trimStart().length;
    }
    if (text) out.push(text);
    if (!action.trim().startsWith('/*')) out.push({ action: action.trim() });
  }
  return out;
}

function parse(tokens: (string | { action: string })[]): Node[] {
  let pos = 0;
  const block = (terminators: string[]): [Node[], string] => {
    const nodes: Node[] = [];
    while (pos < tokens.length) {
      const t = tokens[pos++] as string | { action: string };
      if (typeof t === 'string') {
        nodes.push({ kind: 'text', text: t });
        continue;
      }
      const a = t.action;
      const word = a.split(/\s+/)[0] ?? '';
      if (terminators.includes(word)) return [nodes, word];
      if (word === 'if') {
        const [then, end] = block(['else', 'end']);
        const [otherwise] = end === 'else' ? block(['end']) : [[]];
        nodes.push({ kind: 'if', expr: a.slice(2).trim(), then, else: otherwise });
      } else if (word === 'range') {
        const m = /^range\s+(?:(\$\w*)\s*(?:,\s*(\$\w*))?\s*:=\s*)?(.+)$/.exec(a);
        if (!m) throw new BuiltinError('bad range');
        const [body] = block(['end']);
        const [, first, second, expr = ''] = m;
        const node: Node = { kind: 'range', expr, body };
        if (second !== undefined) Object.assign(node, { keyVar: first, valueVar: second });
        else if (first !== undefined) Object.assign(node, { valueVar: first });
        nodes.push(node);
      } else nodes.push({ kind: 'print', expr: a });
    }
    if (terminators.length > 0) throw new BuiltinError('unexpected end of template');
    return [nodes, ''];
  };
  return block([])[0];
}

type Scope = { dot: Value; vars: Map<string, Value> };

function field(v: Value, name: string): Value {
  const next = v instanceof RegoObject ? v.get(name) : undefined;
  if (next === undefined) throw new BuiltinError(`map has no entry for key "${name}"`);
  return next;
}

function evaluate(expr: string, scope: Scope): Value {
  const m = /^(\$\w*|\.)?((?:\.\w+)*)$/.exec(expr.trim());
  if (!m) throw new BuiltinError(`unsupported template expression ${expr}`);
  const [, head = '.', path = ''] = m;
  let v: Value;
  if (head === '.') v = scope.dot;
  else {
    const bound = scope.vars.get(head);
    if (bound === undefined) throw new BuiltinError(`undefined variable ${head}`);
    v = bound;
  }
  for (const name of path.split('.').filter(Boolean)) v = field(v, name);
  return v;
}

function truthy(v: Value): boolean {
  if (v === null || v === false || v === '' || v === 0 || v === 0n) return false;
  if (Array.isArray(v)) return v.length > 0;
  if (v instanceof RegoObject || v instanceof RegoSet) return v.size > 0;
  return true;
}

/** Go's %v of the decoded JSON value. */
function show(v: Value): string {
  if (typeof v === 'string') return v;
  if (v === null) return '<nil>';
  if (typeof v === 'boolean' || isNumber(v)) return serialiseJson(v);
  if (Array.isArray(v) || v instanceof RegoSet) return `[${(Array.isArray(v) ? v : v.sorted()).map(show).join(' ')}]`;
  return `map[${v.sorted().map(([k, x]) => `${show(k)}:${show(x)}`).join(' ')}]`;
}

function render(nodes: Node[], scope: Scope): string {
  let out = '';
  for (const n of nodes) {
    switch (n.kind) {
      case 'text': out += n.text; break;
      case 'print': out += show(evaluate(n.expr, scope)); break;
      case 'if': out += render(truthy(evaluate(n.expr, scope)) ? n.then : n.else, scope); break;
      case 'range': {
        const coll = evaluate(n.expr, scope);
        const pairs: [Value, Value][] = Array.isArray(coll) ? coll.map((x, i) => [i, x])
          : coll instanceof RegoObject ? coll.sorted()
          : coll instanceof RegoSet ? coll.sorted().map((x, i) => [i, x]) : [];
        for (const [k, x] of pairs) {
          const vars = new Map(scope.vars);
          if (n.keyVar) vars.set(n.keyVar, k);
          if (n.valueVar) vars.set(n.valueVar, x);
          out += render(n.body, { dot: x, vars });
        }
        break;
      }
    }
  }
  return out;
}

export function renderTemplate(template: string, vars: RegoObject): string {
  return render(parse(tokenize(template)), { dot: vars, vars: new Map([['$', vars]]) });
}
