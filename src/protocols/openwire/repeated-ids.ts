import type { OwStruct } from './codec/marshal.js';

/**
 * One connection's incoming messages, made to share the ids and destination they repeat.
 * Every message command a producer sends carries its ProducerId twice (the command's and
 * its MessageId's, each with its connection id string) and its destination, decoded afresh
 * each time; a queued message keeps its command, so a queue of 1M held 3M copies of the
 * same few structures. An equal one takes the place of the new one, which dies young: fewer
 * objects per queued message for the GC to copy and mark (a 1M flood's scavenges and
 * marking are what stop the event loop longest).
 *
 * Safe by construction: a structure is frozen before it is shared, so every message's
 * ProducerIds and destination are frozen (shared or not yet). An in-place change (say, a
 * destination renamed or a MessageId's ProducerId rewritten) would have changed every queued
 * message of that producer; it throws a TypeError instead (ESM is strict), and the code that
 * wants a changed one must make a copy, as toOpenWire does with the destination.
 */
export class RepeatedIds {
  /** the last command's ProducerId */
  private producerId: OwStruct | undefined;
  /** the last MessageId's ProducerId that was not its command's (a client re-sending a received message, a bridge) */
  private otherProducerId: OwStruct | undefined;
  private destination: OwStruct | undefined;

  /** `cmd` (a message command) takes the structures it repeats from the previous one */
  share(cmd: OwStruct): void {
    let p = cmd['producerId'] as OwStruct | null | undefined;
    if (p) {
      const last = this.producerId;
      if (last !== undefined && sameProducer(last, p)) p = cmd['producerId'] = last;
      else this.producerId = Object.freeze(p);
    }
    const id = cmd['messageId'] as OwStruct | null | undefined;
    const q = id?.['producerId'] as OwStruct | null | undefined;
    if (q) {
      // usually the command's own producer: one comparison with what it has just become
      if (p && sameProducer(p, q)) id!['producerId'] = p;
      else {
        const other = this.otherProducerId;
        if (other !== undefined && sameProducer(other, q)) id!['producerId'] = other;
        else this.otherProducerId = Object.freeze(q);
      }
    }
    const d = cmd['destination'] as OwStruct | null | undefined;
    if (d) {
      const last = this.destination;
      if (last !== undefined && last.type === d.type && last['physicalName'] === d['physicalName']) cmd['destination'] = last;
      else this.destination = Object.freeze(d);
    }
  }
}

function sameProducer(a: OwStruct, b: OwStruct): boolean {
  return a === b || (a['value'] === b['value'] && a['sessionId'] === b['sessionId'] && a['connectionId'] === b['connectionId']);
}
