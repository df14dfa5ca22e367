import { Ajv, type ErrorObject, type Options, type ValidateFunction } from 'ajv';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { Ajv2020 } from 'ajv/dist/2020.js';

export type ArgumentVerdict =
  | { valid: true }
  /** `problems` are safe to return to the agent: JSON pointers and rule names, no values. */
  | { valid: false; problems: string[] };

/** Upstream schemas carry vendor keywords and formats: compile leniently, but never fetch remote refs. */
const AJV_OPTIONS: Options = {
  strict: false,
  validateFormats: false,
  allErrors: false,
  addUsedSchema: false,
};

const MAX_PROBLEMS = 5;

interface Compiled {
  validate: ValidateFunction | Error;
  /** Kept so the ajv instance's own cache entry can be released on eviction. */
  schema: Record<string, unknown>;
  ajv: Ajv | Ajv2019 | Ajv2020;
}

function describe(errors: readonly ErrorObject[] | null | undefined): string[] {
  return (errors ?? []).slice(0, MAX_PROBLEMS).map((e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}`);
}

/**
 * Validates tools/call arguments against the pinned input schema. Compiled
 * validators are cached by definition hash (least recently used dropped past
 * `maxEntries`). A schema that does not compile makes every call to that tool
 * invalid: unvalidated arguments are never forwarded.
 */
export class ArgumentValidator {
  readonly #draft7 = new Ajv(AJV_OPTIONS);
  readonly #draft2019 = new Ajv2019(AJV_OPTIONS);
  readonly #draft2020 = new Ajv2020(AJV_OPTIONS);
  readonly #cache = new Map<string, Compiled>();

  constructor(private readonly maxEntries = 1024) {}

  validate(definitionHash: string, inputSchema: Record<string, unknown>, args: unknown): ArgumentVerdict {
    const validator = this.#compiled(definitionHash, inputSchema).validate;
    if (validator instanceof Error) return { valid: false, problems: ['the tool input schema cannot be used for validation'] };
    // MCP lets a call omit arguments; the schema decides whether that is acceptable.
    if (validator(args ?? {})) return { valid: true };
    return { valid: false, problems: describe(validator.errors) };
  }

  #compiled(hash: string, schema: Record<string, unknown>): Compiled {
    const cached = this.#cache.get(hash);
    if (cached) {
      this.#cache.delete(hash);
      this.#cache.set(hash, cached);
      return cached;
    }
    const ajv = this.#ajvFor(schema);
    let validate: ValidateFunction | Error;
    try {
      validate = ajv.compile(schema);
    } catch (err) {
      validate = err instanceof Error ? err : new Error(String(err));
    }
    if (this.#cache.size >= this.maxEntries) {
      const oldest = this.#cache.entries().next();
      if (!oldest.done) {
        const [oldHash, old] = oldest.value;
        this.#cache.delete(oldHash);
        old.ajv.removeSchema(old.schema);
      }
    }
    const compiled = { validate, schema, ajv };
    this.#cache.set(hash, compiled);
    return compiled;
  }

  #ajvFor(schema: Record<string, unknown>): Ajv | Ajv2019 | Ajv2020 {
    const dialect = typeof schema.$schema === 'string' ? schema.$schema : '';
    if (dialect.includes('2020-12')) return this.#draft2020;
    if (dialect.includes('2019-09')) return this.#draft2019;
    return this.#draft7;
  }
}
