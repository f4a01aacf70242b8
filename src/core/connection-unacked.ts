import type { Session } from './session.js';

/**
 * One connection's unacknowledged deliveries, across all of its sessions (AMQP channels, STOMP
 * subscriptions, AMQP 1.0 sessions, OpenWire sessions, an MQTT client's one), against the
 * broker's `maxUnackedPerConnection` (issue 18 point 4). Prefetch, link credit and Receive
 * Maximum bound what a client asks to be bounded; a client that asks for nothing (AMQP basic.qos
 * 0, STOMP ack:client without prefetch-count) would otherwise be handed every message of a queue,
 * each read back from disk and held until it is acked: 1 M unacked 1 KiB messages took the broker
 * to 3.1 GiB under a 512 MiB memory watermark (bench/unacked-reader.ts). At the cap a consumer
 * that takes with acks has no credit, as at its prefetch: nothing is delivered, so nothing is
 * read back or buffered for it, until an ack, nack, reject or the end of a session brings the
 * count below the cap; then every session of the connection delivers again.
 */
export class ConnectionUnacked {
  /** deliveries of the connection that wait for a settle (basic.gets with acks included) */
  count = 0;
  /**
   * a consumer was refused a delivery at the cap: its session (or another of the connection)
   * must be told to deliver again when the count goes below it (set on the refusal, a flag not
   * a set: sessions are few and a refusal happens once per fill of the window)
   */
  private starved = false;
  private readonly sessions = new Set<Session>();

  constructor(
    /** 0: no cap */
    readonly cap: number,
  ) {}

  /** may the connection take one more delivery that waits for a settle? (a refusal is remembered) */
  hasRoom(): boolean {
    if (this.cap === 0 || this.count < this.cap) return true;
    this.starved = true;
    return false;
  }

  join(s: Session): void {
    this.sessions.add(s);
  }

  leave(s: Session): void {
    this.sessions.delete(s);
  }

  /**
   * after `from` settled deliveries (and dispatched its own queues): if a refusal waits and the
   * count is below the cap again, the connection's other sessions deliver again too
   */
  wake(from: Session): void {
    if (!this.starved || this.count >= this.cap) return;
    this.starved = false;
    for (const s of this.sessions) if (s !== from) s.resume();
  }
}
