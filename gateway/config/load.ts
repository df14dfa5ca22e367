/**
 * Reads portcullis.yaml once: parse (yaml), validate and fill defaults (ajv,
 * against the composed schema), then deep-freeze. Every problem is reported
 * as a ConfigError naming the file and the offending key.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv } from 'ajv';
import type { ErrorObject } from 'ajv';
import { parse as parseYaml } from 'yaml';
import { CONFIG_SCHEMA } from './sections.js';
import type { PortcullisConfig } from './sections.js';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

const ajv = new Ajv({ allErrors: false, useDefaults: true, strict: true, strictTypes: false, strictRequired: false });
const validate = ajv.compile(CONFIG_SCHEMA);

/** `a.b.c` from a JSON pointer, for messages a person can act on. */
function keyPath(pointer: string, extra?: string): string {
  const parts = pointer
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (extra !== undefined) parts.push(extra);
  return parts.length === 0 ? '(top level)' : parts.join('.');
}

function describe(error: ErrorObject): string {
  const params = error.params as Record<string, unknown>;
  // A key name failing `propertyNames` reports the name on the error itself.
  if (error.propertyName !== undefined) return `invalid name "${error.propertyName}" under "${keyPath(error.instancePath)}"`;
  switch (error.keyword) {
    case 'additionalProperties':
      return `unknown key "${keyPath(error.instancePath, String(params.additionalProperty))}"`;
    case 'required':
      return `missing key "${keyPath(error.instancePath, String(params.missingProperty))}"`;
    case 'oneOf':
      return `"${keyPath(error.instancePath)}" must have exactly one of the allowed forms (e.g. one of stdio or http)`;
    default:
      return `"${keyPath(error.instancePath)}" ${error.message ?? 'is invalid'}`;
  }
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

/**
 * Validates an already-parsed document. `baseDir` anchors relative paths.
 * The input is copied, never modified.
 */
export function configFromObject(document: unknown, baseDir: string, source = 'portcullis.yaml'): PortcullisConfig {
  const doc: unknown = document === null || document === undefined ? {} : structuredClone(document);
  if (typeof doc !== 'object' || Array.isArray(doc)) {
    throw new ConfigError(`${source}: the document must be a mapping of sections`);
  }
  if (!validate(doc)) {
    const first = validate.errors?.[0];
    throw new ConfigError(`${source}: ${first ? describe(first) : 'invalid configuration'}`);
  }
  const config = { ...(doc as object), base_dir: path.resolve(baseDir) } as PortcullisConfig;
  return deepFreeze(config);
}

/** Reads and validates a config file. */
export function loadConfigFile(file: string): PortcullisConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  let document: unknown;
  try {
    document = parseYaml(text, { uniqueKeys: true });
  } catch (err) {
    throw new ConfigError(`${file}: not valid YAML (${err instanceof Error ? err.message.split('\n')[0] : 'parse error'})`);
  }
  return configFromObject(document, path.dirname(path.resolve(file)), file);
}

/** A path from the config, resolved against the config file's folder. */
export function resolveConfigPath(config: PortcullisConfig, p: string): string {
  return path.resolve(config.base_dir, p);
}
