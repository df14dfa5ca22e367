/**
 * The stage contract in gateway/pipeline/stages.ts cannot go stale: every
 * field a stage reads on the way in is set by the transport or an earlier
 * stage acting on the same traffic; every field a stage writes is read later
 * (or on the way back, or by the transport); each row names the file its
 * stage lives in, and that file touches no context field its row leaves out.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { CONTRACT, FROM_TRANSPORT, STAGES, TO_TRANSPORT } from '../gateway/pipeline/stages.js';
import type { ContextField, StageContract } from '../gateway/pipeline/stages.js';
import { ROOT } from './fixtures/gateway-harness.js';

const PIPELINE = path.join(ROOT, 'gateway/pipeline');

function shareTraffic(a: StageContract, b: StageContract): boolean {
  return a.acts.some((traffic) => b.acts.includes(traffic));
}

function isField(name: string): name is ContextField {
  return name !== 'services' && contextFields().includes(name);
}

/** The fields of MessageContext, from its declaration in context.ts. */
function contextFields(): string[] {
  const source = readFileSync(path.join(PIPELINE, 'context.ts'), 'utf8');
  const body = /export interface MessageContext \{([\s\S]*?)\n\}/.exec(source)?.[1] ?? '';
  return [...body.matchAll(/^ {2}(\w+)\??:/gm)].map((m) => m[1] as string);
}

t.test('STAGES is the contract, in its order', async (t) => {
  t.same(STAGES, CONTRACT.map((row) => row.stage));
  t.equal(new Set(CONTRACT.map((row) => row.name)).size, CONTRACT.length, 'names are unique');
  t.equal(CONTRACT.at(-1)?.name, 'forward', 'forward answers: nothing after it');
});

t.test('every field a stage reads on the way in is there by then', async (t) => {
  CONTRACT.forEach((reader, at) => {
    for (const field of reader.reads) {
      if (FROM_TRANSPORT.includes(field)) continue;
      const writers = CONTRACT.slice(0, at).filter((writer) => writer.writes.includes(field) && shareTraffic(writer, reader));
      t.ok(writers.length > 0, `${reader.name} reads ${field}: set by the transport or an earlier stage`);
    }
    for (const field of reader.readsBack) {
      t.ok(FROM_TRANSPORT.includes(field) || CONTRACT.some((writer) => writer.writes.includes(field)), `${reader.name} reads ${field} on the way back: someone sets it`);
    }
    if (reader.readsBack.length > 0) t.ok(reader.wraps, `${reader.name} reads on the way back, so it wraps next()`);
  });
});

t.test('every field a stage writes is read later, on the way back, or by the transport', async (t) => {
  CONTRACT.forEach((writer, at) => {
    for (const field of writer.writes) {
      const later = CONTRACT.slice(at + 1).some((reader) => reader.reads.includes(field) || reader.readsBack.includes(field));
      const back = CONTRACT.slice(0, at + 1).some((reader) => reader.wraps && reader.readsBack.includes(field));
      t.ok(later || back || TO_TRANSPORT.includes(field), `${writer.name} writes ${field}: someone reads it`);
    }
  });
  for (const field of TO_TRANSPORT) t.ok(CONTRACT.some((writer) => writer.writes.includes(field)), `a stage writes ${field} for the transport`);
});

t.test('every context field is in the contract', async (t) => {
  const fields = contextFields();
  t.ok(fields.length > 10, 'MessageContext was found in context.ts');
  for (const field of fields) {
    if (field === 'services') continue;
    const covered = FROM_TRANSPORT.includes(field as ContextField) || CONTRACT.some((row) => row.writes.includes(field as ContextField));
    t.ok(covered, `${field} comes from the transport or a stage's writes`);
  }
});

t.test("each row names its stage's file, and the file touches only the fields its row names", async (t) => {
  for (const row of CONTRACT) {
    const file = path.join(PIPELINE, `${row.name}.ts`);
    const module: Record<string, unknown> = await import(file);
    t.ok(Object.values(module).includes(row.stage), `${row.name}.ts exports its stage`);
    const source = readFileSync(file, 'utf8');
    const named = new Set<string>([...row.reads, ...row.readsBack, ...row.writes]);
    for (const [, field] of source.matchAll(/\bctx\.(\w+)/g)) {
      if (field === undefined || field === 'services') continue;
      t.ok(isField(field) && named.has(field), `${row.name} touches ctx.${field}: its row names it`);
    }
    const assigned = /(?:\bdelete ctx\.(\w+))|(?:\bctx\.(\w+)(?:\??\.\w+)*\s*(?:=(?!=)|\?\?=))/g;
    for (const m of source.matchAll(assigned)) {
      const field = m[1] ?? m[2] ?? '';
      t.ok(row.writes.includes(field as ContextField), `${row.name} assigns ctx.${field}: its row lists it as written`);
    }
  }
});
