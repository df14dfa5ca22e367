/**
 * One connection's tool list (lane-tools.ts): listed when first needed, once
 * for callers at the same time, dropped and listed again the moment the
 * connection says its tools changed, every listing shown to the pins first;
 * a flood of changes makes one more listing, not one each.
 */
import t from 'tap';
import { LaneTools } from '../gateway/upstreams/lane-tools.js';

/** A connection whose listings the test answers one by one. */
function connection() {
  const asked: Array<(tools: unknown[]) => void> = [];
  const observed: unknown[][] = [];
  const tools = new LaneTools(
    () => new Promise<unknown[]>((resolve) => asked.push(resolve)),
    (listing) => observed.push([...listing]),
  );
  /** Answers the next listing asked for with one tool whose description is `text`. */
  const answer = async (text: string): Promise<void> => {
    for (let turn = 0; asked.length === 0 && turn < 100; turn++) await Promise.resolve();
    const next = asked.shift();
    if (next === undefined) throw new Error('no listing was asked for');
    next([{ name: 'add', description: text, inputSchema: { type: 'object' } }]);
  };
  return { tools, asked, observed, answer };
}

const descriptionOf = (c: ReturnType<typeof connection>, at: number): unknown => (c.observed[at]?.[0] as { description?: string } | undefined)?.description;

t.test('listed once for callers at the same time; a change before anyone asked lists nothing', async (t) => {
  const c = connection();
  c.tools.changed();
  t.equal(c.asked.length, 0);
  const first = c.tools.load();
  const second = c.tools.load();
  await c.answer('v1');
  t.equal(await first, await second);
  t.ok((await first).has('add'));
  t.equal(c.tools.current, await first, 'kept: the next call needs no await');
  t.equal(c.observed.length, 1, 'the pins saw the listing');
});

t.test('a change drops the listing at once and lists again without waiting for a call', async (t) => {
  const c = connection();
  const loading = c.tools.load();
  await c.answer('v1');
  const before = (await loading).get('add')?.definition_hash;
  c.tools.changed();
  t.equal(c.tools.current, undefined, 'a call from now on waits for the new listing');
  t.equal(c.asked.length, 1, 'listed again at once');
  const waiting = c.tools.load();
  await c.answer('v2');
  t.not((await waiting).get('add')?.definition_hash, before);
  t.equal(descriptionOf(c, 1), 'v2', 'the pins saw the new definition');
});

t.test('changes announced during a listing make one more listing, and those waiting get it', async (t) => {
  const c = connection();
  const loading = c.tools.load();
  for (let n = 0; n < 50; n++) c.tools.changed();
  await c.answer('old');
  await c.answer('new');
  t.equal(descriptionOf(c, 1), 'new');
  t.equal((await loading).size, 1);
  t.equal(c.observed.length, 2, 'fifty changes, two listings');
  t.equal(c.asked.length, 0);
  t.ok(c.tools.current !== undefined);
});

t.test('a connection that announces a change during every listing gets an answer, which is not kept', async (t) => {
  const c = connection();
  const loading = c.tools.load();
  for (let round = 0; round < 4; round++) {
    c.tools.changed();
    await c.answer(`v${round}`);
  }
  t.equal((await loading).size, 1, 'the waiting call is answered');
  t.equal(c.tools.current, undefined, 'the next call lists again');
  t.equal(c.asked.length, 0, 'nothing more listed on its own');
});

t.test('a failed listing is not kept: the next call lists again', async (t) => {
  let fail = true;
  let lists = 0;
  const tools = new LaneTools(async () => {
    lists++;
    if (fail) throw new Error('upstream down');
    return [];
  }, () => undefined);
  await t.rejects(tools.load(), /upstream down/);
  fail = false;
  t.same([...(await tools.load()).keys()], []);
  t.equal(lists, 2);
});
