/**
 * A publisher mostly sends messages with the same properties (none at all, a persistent flag, a
 * fixed content type). Built anew per message, each queued message holds its own equal
 * properties object (and headers table): heap objects that a flood of a million keeps in the old
 * generation, copied by the scavenges that promote them and visited by every mark-compact
 * (issue 18 point 5: the event loop during a flood).
 *
 * One per publishing connection: properties equal, value for value, to the previous message's
 * are replaced by the previous message's object. Only properties whose values are all
 * primitives (headers included) are shared, frozen: the core copies properties before changing
 * them (dead-lettering, a quorum queue's counts), and a frozen object makes code that would
 * change them in place fail loudly instead of changing other messages.
 * (AMQP 0-9-1 compares the encoded property block instead: protocols/amqp/repeated-property-block.ts.)
 */
import type { FieldTable } from '../../core/fields.js';
import type { MessageProperties } from '../../core/message.js';

export class RepeatedProperties {
  private last: MessageProperties | undefined;
  /** earlier messages' shared properties by their value of the `varying` header (bounded, see MAX_VARYING) */
  private byVarying: Map<unknown, MessageProperties> | undefined;

  /**
   * `varying`: a header whose value changes from message to message while the rest stays (STOMP's
   * content-length, which RabbitMQ keeps among the headers: bodies of varying size): properties equal to
   * an earlier message's with the same value of it are shared too, not only the previous message's
   */
  constructor(private readonly varying?: string) {}

  /** `p`, or an earlier message's equal properties */
  of(p: MessageProperties): MessageProperties {
    const last = this.last;
    if (last !== undefined && sameValues(last, p)) return last;
    const v = this.varying === undefined ? undefined : p.headers?.[this.varying];
    if (v === undefined) {
      this.last = freezeIfShareable(p);
      return p;
    }
    const byVarying = (this.byVarying ??= new Map());
    const seen = byVarying.get(v);
    if (seen !== undefined && sameValues(seen, p)) return (this.last = seen);
    const shared = freezeIfShareable(p);
    if (shared !== undefined) {
      // a publisher whose other headers change too would grow it without end: started afresh
      if (byVarying.size >= MAX_VARYING) byVarying.clear();
      byVarying.set(v, shared);
    }
    this.last = shared;
    return p;
  }
}

/** distinct values of the varying header remembered per publisher (their shared properties: a few KiB) */
const MAX_VARYING = 1024;

/**
 * `p` frozen (its headers too) when every value is a primitive, so it can be shared between
 * messages; undefined, and left as it is, when a value is an object that could be changed in place
 */
export function freezeIfShareable(p: MessageProperties): MessageProperties | undefined {
  if (!flat(p.headers)) return undefined;
  if (p.headers !== undefined) Object.freeze(p.headers);
  return Object.freeze(p);
}

function sameValues(a: MessageProperties, b: MessageProperties): boolean {
  let n = 0;
  for (const k in b) {
    const key = k as keyof MessageProperties;
    if (key === 'headers') {
      if (a.headers === undefined || !sameTable(a.headers, b.headers!)) return false;
    } else if (a[key] !== b[key]) return false;
    n++;
  }
  for (const _ in a) n--;
  return n === 0;
}

/**
 * equal tables of primitives, keys in the same order (`a` is flat: a shared table). The order counts: it is the
 * order a consumer sees (RabbitMQ's STOMP headers reversed, review-s19-2 P2b), so equal values in another order
 * are not shared. The shared table's keys are listed once (it is frozen) and walked against `b`'s.
 */
function sameTable(a: FieldTable, b: FieldTable): boolean {
  const keys = keysOf(a);
  let i = 0;
  for (const k in b) {
    if (keys[i] !== k || a[k] !== b[k]) return false;
    i++;
  }
  return i === keys.length;
}

const sharedKeys = new WeakMap<FieldTable, string[]>();

function keysOf(t: FieldTable): string[] {
  let keys = sharedKeys.get(t);
  if (keys === undefined) sharedKeys.set(t, (keys = Object.keys(t)));
  return keys;
}

/** no value of the table an object (a nested table, an array, a byte array could be changed in place) */
function flat(t: FieldTable | undefined): boolean {
  if (t === undefined) return true;
  for (const k in t) {
    const v = t[k];
    if (v !== null && typeof v === 'object') return false;
  }
  return true;
}
