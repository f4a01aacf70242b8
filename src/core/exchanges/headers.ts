import { Decimal, type FieldTable, type FieldValue } from '../fields.js';
import type { Binding, Destination, Router } from './router.js';

type MatchMode = 'all' | 'any' | 'all-with-x' | 'any-with-x';

/**
 * Headers routing: each binding's arguments are matched against the message headers,
 * `x-match` choosing all/any, and the -with-x variants also comparing `x-` keys.
 */
export class HeadersRouter implements Router {
  private readonly bindings = new Map<string, Binding>();

  add(b: Binding): void {
    this.bindings.set(b.id, b);
  }

  remove(b: Binding): void {
    this.bindings.delete(b.id);
  }

  route(_routingKey: string, headers: FieldTable | undefined, out: Set<Destination>): void {
    for (const b of this.bindings.values()) {
      if (!out.has(b.destination) && headersMatch(b.arguments, headers ?? {})) out.add(b.destination);
    }
  }
}

export function headersMatch(args: FieldTable, headers: FieldTable): boolean {
  const mode = (typeof args['x-match'] === 'string' ? args['x-match'] : 'all') as MatchMode;
  const any = mode === 'any' || mode === 'any-with-x';
  const withX = mode === 'all-with-x' || mode === 'any-with-x';
  for (const key of Object.keys(args)) {
    if (key === 'x-match' || (!withX && key.startsWith('x-'))) continue;
    const want = args[key];
    const present = Object.prototype.hasOwnProperty.call(headers, key);
    // a void binding value asks only that the header be there
    const ok = present && (want === null || want === undefined || fieldEquals(want, headers[key]));
    if (any && ok) return true;
    if (!any && !ok) return false;
  }
  return !any;
}

export function fieldEquals(a: FieldValue, b: FieldValue): boolean {
  if (a === b) return true;
  if (a === null || b === null || a === undefined || b === undefined) return false;
  if (typeof a === 'bigint' || typeof b === 'bigint') {
    return (typeof a === 'number' || typeof a === 'bigint') && (typeof b === 'number' || typeof b === 'bigint') && BigInt(a) === BigInt(b);
  }
  if (Buffer.isBuffer(a)) return Buffer.isBuffer(b) ? a.equals(b) : typeof b === 'string' && a.toString() === b;
  if (Buffer.isBuffer(b)) return typeof a === 'string' && b.toString() === a;
  if (a instanceof Date) return b instanceof Date && a.getTime() === b.getTime();
  if (a instanceof Decimal) return b instanceof Decimal && a.scale === b.scale && a.value === b.value;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((v, i) => fieldEquals(v, b[i]));
  if (typeof a === 'object' && typeof b === 'object' && !Array.isArray(b)) {
    const ka = Object.keys(a as FieldTable);
    const kb = Object.keys(b as FieldTable);
    return ka.length === kb.length && ka.every((k) => fieldEquals((a as FieldTable)[k], (b as FieldTable)[k]));
  }
  return false;
}
