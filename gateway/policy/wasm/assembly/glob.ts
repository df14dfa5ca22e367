// glob.match inside the runtime for the patterns policies write most: literal
// characters, `*` (any run of non-delimiters) and `**` (any run). Everything
// else (`?`, classes, alternations, escapes, odd operands) returns null and is
// left to the host built-in, which implements the full gobwas/glob syntax
// (gateway/policy/builtins/families/glob.ts); both agree on the simple subset.
import { Value, K_NULL, K_STR, K_ARR, mkBool } from "./value";

const ITEM_STAR: i32 = -1;
const ITEM_ANY: i32 = -2;

/** Pattern items: a UTF-16 code unit, ITEM_STAR or ITEM_ANY; null when the pattern is not simple. */
function simpleItems(pattern: string): i32[] | null {
  const items = new Array<i32>(0);
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern.charCodeAt(i);
    if (c == 0x2a) {
      if (i + 1 < pattern.length && pattern.charCodeAt(i + 1) == 0x2a) {
        items.push(ITEM_ANY);
        i++;
      } else items.push(ITEM_STAR);
      continue;
    }
    // ? [ ] { } , \ and surrogates (one rune, two units) need the host's matcher.
    if (c == 0x3f || c == 0x5b || c == 0x5d || c == 0x7b || c == 0x7d || c == 0x2c || c == 0x5c) return null;
    if (c >= 0xd800 && c <= 0xdfff) return null;
    items.push(c);
  }
  return items;
}

/**
 * Delimiter code units: OPA reads null as none and [] as ["."]. Null (the
 * result) when an operand is not one the fast path handles.
 */
function delimiterUnits(d: Value): i32[] | null {
  if (d.kind == K_NULL) return [];
  if (d.kind != K_ARR) return null;
  if (d.items.length == 0) return [0x2e];
  const out = new Array<i32>(d.items.length);
  for (let i = 0; i < d.items.length; i++) {
    const item = d.items[i];
    if (item.kind != K_STR || item.s.length != 1) return null;
    const c = item.s.charCodeAt(0);
    if (c >= 0xd800 && c <= 0xdfff) return null;
    out[i] = c;
  }
  return out;
}

/**
 * glob.match(pattern, delimiters, subject) for simple patterns; null when the
 * host must decide. Dynamic programming over (pattern item, subject prefix):
 * linear in their product, whatever the number of stars.
 */
export function globMatchSimple(args: Value[]): Value | null {
  if (args.length != 3 || args[0].kind != K_STR || args[2].kind != K_STR) return null;
  const items = simpleItems(args[0].s);
  if (items === null) return null;
  const delims = delimiterUnits(args[1]);
  if (delims === null) return null;
  const s = args[2].s;
  const n = <usize>s.length;
  const units = changetype<usize>(s);
  // Two rows of n + 1 flags in raw heap memory (typed arrays cost more per
  // cell); the heap is reset after the evaluation.
  let prev = __alloc((n + 1) << 1);
  let next = prev + n + 1;
  memory.fill(prev, 0, (n + 1) << 1);
  store<u8>(prev, 1);
  for (let k = 0; k < items.length; k++) {
    const item = items[k];
    store<u8>(next, item < 0 ? load<u8>(prev) : 0);
    if (item == ITEM_ANY) {
      for (let j: usize = 1; j <= n; j++) store<u8>(next + j, load<u8>(prev + j) | load<u8>(next + j - 1));
    } else if (item == ITEM_STAR) {
      for (let j: usize = 1; j <= n; j++) {
        const c = <i32>load<u16>(units + ((j - 1) << 1));
        store<u8>(next + j, load<u8>(prev + j) | (load<u8>(next + j - 1) & (delims.includes(c) ? 0 : 1)));
      }
    } else {
      for (let j: usize = 1; j <= n; j++) {
        const c = <i32>load<u16>(units + ((j - 1) << 1));
        store<u8>(next + j, c == item ? load<u8>(prev + j - 1) : 0);
      }
    }
    const t = prev;
    prev = next;
    next = t;
  }
  return mkBool(load<u8>(prev + n) == 1);
}
