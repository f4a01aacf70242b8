/**
 * Typed reads from untrusted JSON, each failure naming where it is
 * (`queues[3].vhost: expected a string, got 42`).
 */

export class DefinitionsError extends Error {
  constructor(
    readonly path: string,
    readonly problem: string,
  ) {
    super(`${path}: ${problem}`);
    this.name = 'DefinitionsError';
  }
}

/** `path: expected <what>, got <actual>` */
export function expected(path: string, what: string, actual: unknown): DefinitionsError {
  return new DefinitionsError(path, `expected ${what}, got ${describe(actual)}`);
}

export function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'object') return 'an object';
  return String(value);
}

export type JsonObject = Record<string, unknown>;

/** one object in the file and the path that leads to it */
export class ObjectReader {
  constructor(
    readonly value: JsonObject,
    readonly path: string,
  ) {}

  at(key: string): string {
    return /^[A-Za-z_][\w-]*$/.test(key) ? `${this.path}.${key}` : `${this.path}[${JSON.stringify(key)}]`;
  }

  has(key: string): boolean {
    return this.value[key] !== undefined;
  }

  string(key: string): string;
  string(key: string, fallback: string): string;
  string(key: string, fallback?: string): string {
    const value = this.value[key];
    if (value === undefined && fallback !== undefined) return fallback;
    if (typeof value !== 'string') throw expected(this.at(key), 'a string', value);
    return value;
  }

  optionalString(key: string): string | undefined {
    return this.value[key] === undefined ? undefined : this.string(key);
  }

  boolean(key: string, fallback: boolean): boolean {
    const value = this.value[key];
    if (value === undefined) return fallback;
    if (typeof value !== 'boolean') throw expected(this.at(key), 'a boolean', value);
    return value;
  }

  integer(key: string, fallback: number): number {
    const value = this.value[key];
    if (value === undefined) return fallback;
    if (typeof value !== 'number' || !Number.isInteger(value)) throw expected(this.at(key), 'an integer', value);
    return value;
  }

  oneOf<T extends string>(key: string, choices: readonly T[], fallback?: T): T {
    const value = this.value[key];
    if (value === undefined && fallback !== undefined) return fallback;
    if (typeof value !== 'string' || !(choices as readonly string[]).includes(value)) {
      throw expected(this.at(key), `one of ${choices.map((c) => `"${c}"`).join(', ')}`, value);
    }
    return value as T;
  }
}

export function objectAt(value: unknown, path: string): ObjectReader {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw expected(path, 'an object', value);
  }
  return new ObjectReader(value as JsonObject, path);
}

/** each element of an optional top-level list, as an object reader */
export function listAt(root: ObjectReader, key: string): ObjectReader[] {
  const value = root.value[key];
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw expected(key, 'an array', value);
  return value.map((item, i) => objectAt(item, `${key}[${i}]`));
}

/** "a, b" (RabbitMQ before 3.13, vhost metadata) or ["a", "b"] */
export function tagList(reader: ObjectReader, key: string): string[] {
  const value = reader.value[key];
  if (typeof value === 'string') {
    return value
      .split(',')
      .map((t) => t.trim())
      .filter((t) => t !== '');
  }
  if (Array.isArray(value) && value.every((t) => typeof t === 'string')) {
    return (value as string[]).map((t) => t.trim()).filter((t) => t !== '');
  }
  throw expected(reader.at(key), 'a string or an array of strings', value);
}
