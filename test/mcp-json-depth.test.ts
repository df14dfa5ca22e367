/** The one pass over a message's JSON text (json-depth.ts): nesting past the limit and numbers past a double are found; strings are not read as either. */
import t from 'tap';
import { jsonTextProblem } from '../gateway/mcp/json-depth.js';

t.test('numbers past a double are found, in any form; finite ones and number-like strings are not', async (t) => {
  for (const number of ['1e999', '-1E400', '2.5e+309', '9'.repeat(400), `-${'9'.repeat(309)}.5`]) {
    t.equal(jsonTextProblem(`{"a":[1,${number},2]}`, 64), 'numberOutOfRange', number);
  }
  for (const number of ['0', '-1.5e3', '1e308', '1E-400', '9'.repeat(300), '-0.000001']) {
    t.equal(jsonTextProblem(`{"a":${number}}`, 64), undefined, number);
  }
  t.equal(jsonTextProblem('{"a":"1e999 and \\"[[[["}', 2), undefined, 'inside a string nothing counts');
});

t.test('nesting past the limit is found', async (t) => {
  t.equal(jsonTextProblem(`${'['.repeat(5)}${']'.repeat(5)}`, 4), 'nestedTooDeep');
  t.equal(jsonTextProblem(`${'['.repeat(4)}${']'.repeat(4)}`, 4), undefined);
  t.equal(jsonTextProblem('[[],[],[],[],[]]', 2), undefined, 'siblings are not depth');
});
