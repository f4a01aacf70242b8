import { Decimal, type FieldTable, type FieldValue } from '../../core/fields.js';
import { DefinitionsError, describe, expected } from './reader.js';

/** JSON (a definitions file's `arguments` / `definition`) to the core's field values */
export function fieldTableFromJson(value: unknown, path: string): FieldTable {
  if (!isPlainObject(value)) throw expected(path, 'an object', value);
  const table: FieldTable = {};
  for (const [key, inner] of Object.entries(value)) table[key] = fieldValueFromJson(inner, `${path}.${key}`);
  return table;
}

function fieldValueFromJson(value: unknown, path: string): FieldValue {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw expected(path, 'a finite number', value);
    return value;
  }
  if (Array.isArray(value)) return value.map((item, i) => fieldValueFromJson(item, `${path}[${i}]`));
  if (isPlainObject(value)) return fieldTableFromJson(value, path);
  throw new DefinitionsError(path, `${describe(value)} has no JSON form`);
}

/** the reverse, as RabbitMQ renders AMQP tables in JSON (timestamps as seconds, decimals as numbers) */
export function fieldTableToJson(table: FieldTable): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(table)) {
    if (value !== undefined) out[key] = fieldValueToJson(value);
  }
  return out;
}

function fieldValueToJson(value: FieldValue): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  if (value instanceof Date) return Math.floor(value.getTime() / 1000);
  if (value instanceof Decimal) return value.value / 10 ** value.scale;
  if (Array.isArray(value)) return value.map(fieldValueToJson);
  if (typeof value === 'object') return fieldTableToJson(value);
  return value;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !Buffer.isBuffer(value);
}
