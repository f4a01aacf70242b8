import type { Session } from './session.js';

/**
 * One connection's unbounded unacknowledged deliveries, across all of its sessions (AMQP channels,
 * STOMP subscriptions, an MQTT client's one), against the broker's `maxUnackedPerConnection`
 * (issue 18 point 4). Only deliveries that no prefetch bounds count: those of a consumer with no
 * prefetch (AMQP basic.qos 0 with no global qos in force, STOMP ack:client without
 * prefetch-count in the RabbitMQ dialect (the ActiveMQ one always has a window), an AMQP 1.0 link, an OpenWire consumer pulling at prefetch 0, MQTT with the
 * adapter's prefetch set to 0) and basic.gets with ack (RabbitMQ's qos does not bound
 * basic.get). AMQP 1.0 link credit bounds transfers in flight, not unsettled ones (rhea tops it
 * up as messages arrive: a never-settling receiver with a window of 10 took a whole queue of
 * 2000, review-s13-3 U1), so links count. A client with a prefetch gets exactly what it asked
 * for, as from RabbitMQ or ActiveMQ, which have no such cap: two channels with basic.qos 60000
 * each hold 60000 each.
 *
 * Why a cap at all: a client that asks for no bound would otherwise be handed every message of a
 * queue, each read back from disk and held until it is acked: 1 M unacked 1 KiB messages took the
 * broker to 3.1 GiB under a 512 MiB memory watermark (bench/unacked-reader.ts). At the cap such a
 * consumer has no credit, as at a prefetch: nothing is delivered, so nothing is read back or
 * buffered for it, until an ack, nack, reject or the end of a session brings the count below
 * the cap. Then the sessions refused at the cap deliver again, in the order they were refused,
 * before the settling session's own queues: a channel that acks as it goes cannot keep the freed
 * slot to itself while another channel of the connection waits (review-s13-1 C1).
 */
export class ConnectionUnacked {
  /** deliveries of the connection that wait for a settle and count against the cap */
  count = 0;
  /**
   * sessions refused a delivery at the cap, oldest refusal first (a Set keeps insertion order;
   * adding one already in it is a no-op): each gets its turn at a freed slot, and goes to the
   * back again if it is refused once more
   */
  private readonly starved = new Set<Session>();

  constructor(
    /** 0: no cap */
    readonly cap: number,
  ) {}

  /** may `s` take one more unbounded delivery that waits for a settle? (a refusal is remembered: `s` is woken later) */
  hasRoom(s: Session): boolean {
    if (this.cap === 0 || this.count < this.cap) return true;
    this.starved.add(s);
    return false;
  }

  /** as hasRoom for a basic.get with ack: a refused get answers get-empty, nobody waits to be woken */
  hasRoomForGet(): boolean {
    return this.cap === 0 || this.count < this.cap;
  }

  /** `s` closed: it waits for nothing more */
  leave(s: Session): void {
    this.starved.delete(s);
  }

  /**
   * a session settled deliveries (or closed), before it dispatches its own queues: while the
   * count is below the cap, the sessions refused at it deliver again, one at a time, oldest
   * refusal first. Each leaves the line as its turn comes; one that is refused again goes to its
   * back (that refusal also ends the loop: the count is at the cap). The settling session, if it
   * was refused too, takes its turn in the line like the others.
   */
  wake(): void {
    while (this.starved.size !== 0 && this.count < this.cap) {
      const s = this.starved.values().next().value as Session;
      this.starved.delete(s);
      s.resume();
    }
  }
}
