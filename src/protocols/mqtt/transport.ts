import type { Duplex } from 'node:stream';
import { TickCork } from '../tick-cork.js';

/** bytes queued on the socket above which deliveries wait for it to drain */
const WRITE_HIGH_WATER = 1024 * 1024;

/**
 * The byte stream an MQTT session runs over: a TCP or TLS socket, or a WebSocket seen as
 * a stream (MQTT over WebSocket lets packets span messages). Writes made in one turn of
 * the event loop are corked together so a burst of deliveries leaves in one syscall.
 */
export class MqttTransport {
  private readonly tickCork: TickCork;
  readonly remoteAddress: string | undefined;

  constructor(
    readonly stream: Duplex & { remoteAddress?: string; setNoDelay?: (b: boolean) => unknown },
    remoteAddress?: string,
  ) {
    this.tickCork = new TickCork(stream);
    this.remoteAddress = remoteAddress ?? stream.remoteAddress;
    stream.setNoDelay?.(true);
  }

  get writable(): boolean {
    return !this.stream.destroyed && !this.stream.writableEnded;
  }

  /** cork until the end of this turn, then let everything written go out together */
  cork(): void {
    this.tickCork.cork();
  }

  get backedUp(): boolean {
    return this.stream.writableLength > WRITE_HIGH_WATER;
  }

  /** close once what was written has gone out */
  end(): void {
    if (this.writable) this.stream.end();
    else this.stream.destroy();
  }

  destroy(): void {
    this.stream.destroy();
  }
}
