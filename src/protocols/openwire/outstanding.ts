import type { Message } from '../../core/message.js';
import type { OwStruct } from './codec/marshal.js';
import type { OwDestination } from './destination.js';

/** a message dispatched to a consumer and not yet acknowledged */
export interface Outstanding {
  tag: number;
  /** the MessageId as dispatched: acks name messages by it */
  id: OwStruct;
  /** its broker sequence id as dispatched (the message's broker-wide id): a RemoveInfo names the last delivered by it */
  brokerSeq: number;
  message: Message;
  dest: OwDestination;
}

/** two MessageIds name the same message (the sequence number first: it differs most often) */
export function sameMessageId(a: OwStruct, b: OwStruct | null | undefined): boolean {
  if (!b || a['producerSequenceId'] !== b['producerSequenceId'] || (a['textView'] ?? null) !== (b['textView'] ?? null)) return false;
  const p = a['producerId'] as OwStruct | null;
  const q = b['producerId'] as OwStruct | null;
  if (!p || !q) return p === q;
  return p['value'] === q['value'] && p['sessionId'] === q['sessionId'] && p['connectionId'] === q['connectionId'];
}

/**
 * A consumer's dispatched, unacknowledged messages in delivery (tag) order. Acks come mostly
 * for the oldest ones (a standard ack covers a prefix; AUTO_ACK acks each message as it is
 * consumed), so a lookup by MessageId starts at the front and usually stops at once: no
 * string key per message, no map iteration over the holes that deleting from the front of a
 * Map leaves behind.
 */
export class OutstandingList {
  private items: (Outstanding | undefined)[] = [];
  private head = 0;

  get size(): number {
    let n = 0;
    for (let i = this.head; i < this.items.length; i++) if (this.items[i]) n++;
    return n;
  }

  push(o: Outstanding): void {
    this.items.push(o);
  }

  /** the outstanding message with this id, oldest first */
  find(id: OwStruct | null | undefined): Outstanding | undefined {
    if (!id) return undefined;
    const items = this.items;
    for (let i = this.head; i < items.length; i++) {
      const o = items[i];
      if (o && sameMessageId(o.id, id)) return o;
    }
    return undefined;
  }

  /** forget the entry with this id (a message delivered again moves to the end) */
  removeId(id: OwStruct): void {
    const items = this.items;
    for (let i = this.head; i < items.length; i++) {
      const o = items[i];
      if (o && sameMessageId(o.id, id)) {
        items[i] = undefined;
        this.trim();
        return;
      }
    }
  }

  /** take every entry up to and including `last` (in delivery order) */
  takeThrough(last: Outstanding): Outstanding[] {
    const items = this.items;
    const out: Outstanding[] = [];
    let i = this.head;
    for (; i < items.length; i++) {
      const o = items[i];
      if (!o) continue;
      if (o.tag > last.tag) break;
      items[i] = undefined;
      out.push(o);
    }
    this.trim();
    return out;
  }

  /** take one entry */
  take(o: Outstanding): boolean {
    const items = this.items;
    for (let i = this.head; i < items.length; i++) {
      if (items[i] === o) {
        items[i] = undefined;
        this.trim();
        return true;
      }
    }
    return false;
  }

  /** take the entries whose tags lie in [from, to] */
  takeRange(from: number, to: number): Outstanding[] {
    const items = this.items;
    const out: Outstanding[] = [];
    for (let i = this.head; i < items.length; i++) {
      const o = items[i];
      if (!o || o.tag < from) continue;
      if (o.tag > to) break;
      items[i] = undefined;
      out.push(o);
    }
    this.trim();
    return out;
  }

  /** the entries after the one whose MessageId has this broker sequence id, in delivery order; all of them when none has it */
  after(brokerSequenceId: number): Outstanding[] {
    const items = this.items;
    let from = this.head;
    for (let i = this.head; i < items.length; i++) {
      const o = items[i];
      if (o && o.brokerSeq === brokerSequenceId) {
        from = i + 1;
        break;
      }
    }
    const out: Outstanding[] = [];
    for (let i = from; i < items.length; i++) if (items[i]) out.push(items[i]!);
    return out;
  }

  clear(): void {
    this.items = [];
    this.head = 0;
  }

  /** step the front past taken entries; give the space back once it is most of the array */
  private trim(): void {
    const items = this.items;
    while (this.head < items.length && items[this.head] === undefined) this.head++;
    if (this.head === items.length) {
      items.length = 0;
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= items.length) {
      items.splice(0, this.head);
      this.head = 0;
    }
  }
}
