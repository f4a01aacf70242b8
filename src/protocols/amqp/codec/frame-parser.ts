/**
 * Streaming AMQP 0-9-1 frame parser: socket chunks in, frames out.
 *
 * An explicit byte-level state machine (the shape of nats-server's parser): a
 * frame whose bytes are all in the chunk is cut out in one step as a view of the
 * chunk; a frame split across chunks advances one state per byte of its header and
 * copies its payload into one buffer of the announced size. Apart from what it
 * hands out (the frame object, and that payload buffer for split frames) the parser
 * allocates nothing per frame.
 */
import {
  FRAME_BODY,
  FRAME_END,
  FRAME_ERROR,
  FRAME_HEADER,
  FRAME_HEARTBEAT,
  FRAME_METHOD,
  FRAME_MIN_SIZE,
  PROTOCOL_HEADER,
} from './constants.js';
import { AmqpCodecError, AmqpProtocolHeaderError } from './errors.js';

export interface Frame {
  type: number;
  channel: number;
  /** a view into the pushed chunk when the frame arrived whole, else a buffer of its own */
  payload: Buffer;
}

export interface FrameParserOptions {
  /** called for each complete frame, in order */
  onFrame: (frame: Frame) => void;
  /** called once the 8-byte `AMQP 0 0 9 1` header has been read (time to send connection.start) */
  onProtocolHeader?: () => void;
  /** read the protocol header first (a server does; false to parse a server's output) */
  expectProtocolHeader?: boolean;
  /** limit before connection.tune-ok; 0 means none */
  frameMax?: number;
  /**
   * asked after each frame: true stops the parsing there, and push returns the rest of the
   * chunk (a reader that processes its input in slices of time: common/read-slices.ts)
   */
  stopIf?: () => boolean;
}

const S_PROTOCOL = 0;
const S_TYPE = 1;
const S_CHANNEL_HI = 2;
const S_CHANNEL_LO = 3;
const S_SIZE_0 = 4;
const S_SIZE_1 = 5;
const S_SIZE_2 = 6;
const S_SIZE_3 = 7;
const S_PAYLOAD = 8;
const S_END = 9;

const EMPTY = Buffer.alloc(0);

export class FrameParser {
  /**
   * Largest acceptable frame, overhead included (0: no limit). Set it to the
   * negotiated value after connection.tune-ok. Like RabbitMQ, a payload is refused
   * only when it exceeds frameMax itself: clients that forget the 8 bytes of frame
   * overhead are tolerated.
   */
  frameMax: number;

  private readonly onFrame: (frame: Frame) => void;
  private readonly onProtocolHeader: (() => void) | undefined;
  private readonly stopIf: (() => boolean) | undefined;
  private state: number;
  private error: Error | undefined;

  private readonly protocolBytes = Buffer.alloc(8);
  private protocolRead = 0;

  private type = 0;
  private channel = 0;
  private size = 0;
  private payload: Buffer = EMPTY;
  private payloadRead = 0;

  constructor(options: FrameParserOptions) {
    this.onFrame = options.onFrame;
    this.onProtocolHeader = options.onProtocolHeader;
    this.stopIf = options.stopIf;
    this.frameMax = options.frameMax ?? FRAME_MIN_SIZE;
    this.state = options.expectProtocolHeader === false ? S_TYPE : S_PROTOCOL;
  }

  /** True between frames: no partial frame is buffered. */
  get idle(): boolean {
    return this.state === S_TYPE && this.error === undefined;
  }

  /**
   * Feeds one chunk. Throws AmqpProtocolHeaderError for a bad protocol header and
   * AmqpCodecError (FRAME_ERROR) for a bad frame; frames before the fault have been
   * delivered. After a throw the parser stays failed and rethrows on every push.
   * Returns the bytes after the frame where `stopIf` stopped it (push them later), if any.
   */
  push(chunk: Buffer): Buffer | undefined {
    if (this.error !== undefined) throw this.error;
    try {
      return this.parse(chunk);
    } catch (err) {
      this.error = err as Error;
      throw err;
    }
  }

  private parse(chunk: Buffer): Buffer | undefined {
    const n = chunk.length;
    const stopIf = this.stopIf;
    let i = 0;
    while (i < n) {
      switch (this.state) {
        case S_TYPE: {
          if (n - i >= 7) {
            // the whole 7-byte header is here: read it in one go
            const type = chunk[i]!;
            const channel = (chunk[i + 1]! << 8) | chunk[i + 2]!;
            const size = chunk.readUInt32BE(i + 3);
            this.checkHeader(type, channel, size);
            const start = i + 7;
            const end = start + size;
            if (end < n) {
              if (chunk[end] !== FRAME_END) throw badFrameEnd(chunk[end]!, type, channel);
              i = end + 1;
              this.onFrame({ type, channel, payload: chunk.subarray(start, end) });
              if (stopIf !== undefined && i < n && stopIf()) return chunk.subarray(i);
            } else {
              this.type = type;
              this.channel = channel;
              this.size = size;
              i = this.beginPayload(chunk, start);
            }
            break;
          }
          this.type = chunk[i++]!;
          this.state = S_CHANNEL_HI;
          break;
        }
        case S_CHANNEL_HI:
          this.channel = chunk[i++]! << 8;
          this.state = S_CHANNEL_LO;
          break;
        case S_CHANNEL_LO:
          this.channel |= chunk[i++]!;
          this.state = S_SIZE_0;
          break;
        case S_SIZE_0:
          this.size = chunk[i++]!;
          this.state = S_SIZE_1;
          break;
        case S_SIZE_1:
        case S_SIZE_2:
          this.size = this.size * 256 + chunk[i++]!;
          this.state++;
          break;
        case S_SIZE_3:
          this.size = this.size * 256 + chunk[i++]!;
          this.checkHeader(this.type, this.channel, this.size);
          i = this.beginPayload(chunk, i);
          break;
        case S_PAYLOAD: {
          const take = Math.min(this.size - this.payloadRead, n - i);
          chunk.copy(this.payload, this.payloadRead, i, i + take);
          this.payloadRead += take;
          i += take;
          if (this.payloadRead === this.size) this.state = S_END;
          break;
        }
        case S_END: {
          const octet = chunk[i++]!;
          if (octet !== FRAME_END) throw badFrameEnd(octet, this.type, this.channel);
          const frame: Frame = { type: this.type, channel: this.channel, payload: this.payload };
          this.payload = EMPTY;
          this.state = S_TYPE;
          this.onFrame(frame);
          if (stopIf !== undefined && i < n && stopIf()) return chunk.subarray(i);
          break;
        }
        case S_PROTOCOL: {
          const take = Math.min(8 - this.protocolRead, n - i);
          chunk.copy(this.protocolBytes, this.protocolRead, i, i + take);
          this.protocolRead += take;
          i += take;
          if (this.protocolRead === 8) {
            if (!this.protocolBytes.equals(PROTOCOL_HEADER)) {
              throw new AmqpProtocolHeaderError(Buffer.from(this.protocolBytes));
            }
            this.state = S_TYPE;
            this.onProtocolHeader?.();
          }
          break;
        }
      }
    }
    return undefined;
  }

  /** Header read; sets up the payload (a view when it is all in this chunk) and returns the new position. */
  private beginPayload(chunk: Buffer, start: number): number {
    const size = this.size;
    if (chunk.length - start >= size) {
      this.payload = size === 0 ? EMPTY : chunk.subarray(start, start + size);
      this.state = S_END;
      return start + size;
    }
    this.payload = Buffer.allocUnsafe(size);
    this.payloadRead = chunk.length - start;
    chunk.copy(this.payload, 0, start);
    this.state = S_PAYLOAD;
    return chunk.length;
  }

  private checkHeader(type: number, channel: number, size: number): void {
    if (type !== FRAME_METHOD && type !== FRAME_HEADER && type !== FRAME_BODY && type !== FRAME_HEARTBEAT) {
      throw new AmqpCodecError(FRAME_ERROR, `unknown frame type ${type} (channel ${channel})`);
    }
    if (this.frameMax !== 0 && size > this.frameMax) {
      throw new AmqpCodecError(
        FRAME_ERROR,
        `frame payload of ${size} bytes exceeds frame_max ${this.frameMax} (type ${type}, channel ${channel})`,
      );
    }
  }
}

function badFrameEnd(octet: number, type: number, channel: number): AmqpCodecError {
  return new AmqpCodecError(
    FRAME_ERROR,
    `invalid frame end marker 0x${octet.toString(16).padStart(2, '0')} (type ${type}, channel ${channel})`,
  );
}
