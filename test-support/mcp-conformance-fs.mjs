// node:fs plus `globSync` (Node 22+), for the MCP conformance CLI on Node 20.
// Loaded in place of `fs` for that package only (see mcp-conformance-hooks.mjs).
import fs from 'node:fs';
import path from 'node:path';

export * from 'node:fs';
export default fs;

const MAX_DEPTH = 32;
const MAX_ENTRIES = 100_000;

/** `**` any folders (or none), `*` and `?` within one path segment. */
function globToRegExp(pattern) {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '*' && pattern[i + 1] === '*') {
      const slash = pattern[i + 2] === '/';
      source += slash ? '(?:.*/)?' : '.*';
      i += slash ? 2 : 1;
    } else if (c === '*') source += '[^/]*';
    else if (c === '?') source += '[^/]';
    else source += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

/** Relative paths under `cwd` matching any pattern (a bounded walk; no symlinked folders). */
export function globSync(patterns, options = {}) {
  const cwd = options.cwd === undefined ? process.cwd() : String(options.cwd);
  const matchers = (Array.isArray(patterns) ? patterns : [patterns]).map(globToRegExp);
  const found = [];
  let seen = 0;
  const walk = (rel, depth) => {
    if (depth > MAX_DEPTH) return;
    let entries;
    try {
      entries = fs.readdirSync(path.join(cwd, rel), { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      if (++seen > MAX_ENTRIES) return;
      const child = rel === '' ? entry.name : `${rel}/${entry.name}`;
      if (matchers.some((m) => m.test(child))) found.push(child.split('/').join(path.sep));
      if (entry.isDirectory()) walk(child, depth + 1);
    }
  };
  walk('', 0);
  return found;
}
