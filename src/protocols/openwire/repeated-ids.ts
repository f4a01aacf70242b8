import type { OwStruct } from './codec/marshal.js';

/**
 * One connection's incoming messages, made to share the ids and destination they repeat.
 * Every message command a producer sends carries its ProducerId twice (the command's and
 * its MessageId's, each with its connection id string) and its destination, decoded afresh
 * each time; a queued message keeps its command, so a queue of 1M held 3M copies of the
 * same few structures. An equal one takes the place of the new one, which dies young: fewer
 * objects per queued message for the GC to copy and mark (a 1M flood's scavenges and
 * marking are what stop the event loop longest). These structures are never changed once
 * decoded (the broker rewrites a message's command, never its ids or destination).
 */
export class RepeatedIds {
  private producerId: OwStruct | undefined;
  private destination: OwStruct | undefined;

  /** `cmd` (a message command) takes the structures it repeats from the previous one */
  share(cmd: OwStruct): void {
    const p = cmd['producerId'] as OwStruct | null | undefined;
    if (p) cmd['producerId'] = this.sameProducer(p);
    const id = cmd['messageId'] as OwStruct | null | undefined;
    const q = id?.['producerId'] as OwStruct | null | undefined;
    if (q) id!['producerId'] = this.sameProducer(q);
    const d = cmd['destination'] as OwStruct | null | undefined;
    if (d) {
      const last = this.destination;
      if (last !== undefined && last.type === d.type && last['physicalName'] === d['physicalName']) cmd['destination'] = last;
      else this.destination = d;
    }
  }

  private sameProducer(p: OwStruct): OwStruct {
    const last = this.producerId;
    if (last !== undefined && last['value'] === p['value'] && last['sessionId'] === p['sessionId'] && last['connectionId'] === p['connectionId']) return last;
    this.producerId = p;
    return p;
  }
}
