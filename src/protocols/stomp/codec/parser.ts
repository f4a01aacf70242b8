import { decodeRange } from './decode.js';
import { StompCodecError } from './errors.js';
import { EMPTY_BODY, type StompFrame, type StompHeader, type StompVersion } from './frame.js';
import { resolveLimits, type StompCodecLimits } from './limits.js';
import { NameCache } from './name-cache.js';

const NUL = 0x00;
const LF = 0x0a;
const CR = 0x0d;
const COLON = 0x3a;
const BACKSLASH = 0x5c;

// Parser states. Plain numbers rather than a const enum so the file compiles
// the same under isolated-module transpilers (tsx, vitest).
/** Between frames: EOLs are heart-beats, NULs are noise. */
const FRAME_START = 0;
/** Between frames after a CR: only LF may follow. */
const FRAME_START_CR = 1;
const COMMAND = 2;
/** At the start of, or inside, a header name (an empty line here ends the headers). */
const HEADER_NAME = 3;
const HEADER_VALUE = 4;
/** Reading exactly content-length body bytes. */
const BODY_BY_LENGTH = 5;
/** The NUL that must follow a content-length body. */
const BODY_TERMINATOR = 6;
/** No content-length: the body runs to the first NUL. */
const BODY_TO_NUL = 7;

export interface StompParserHandler {
  /** A complete frame. Called synchronously from push(); frames are delivered in wire order. */
  onFrame(frame: StompFrame): void;
  /** An EOL (LF or CRLF) between frames: the peer's heart-beat. */
  onHeartbeat?(): void;
  /**
   * Asked after each frame: true stops the parsing there, and push returns the rest of the
   * chunk (a reader that processes its input in slices of time: common/read-slices.ts).
   */
  stopAfterFrame?(): boolean;
}

export interface StompParserOptions {
  /**
   * Header rules to start with. Defaults to 1.0, the version a peer speaks
   * until CONNECT/CONNECTED negotiation says otherwise.
   */
  version?: StompVersion;
  limits?: Partial<StompCodecLimits>;
  /**
   * a NUL inside a command line is one of its bytes (RabbitMQ's rabbit_stomp_frame: the session then
   * refuses the command by name); otherwise it is a frame cut short: Malformed frame
   */
  nulInCommand?: boolean;
}

/**
 * Streaming STOMP 1.0/1.1/1.2 frame parser: a byte-level state machine fed
 * with socket chunks. Frames may be split at any byte and a chunk may hold
 * several frames; each complete frame goes to `handler.onFrame` as soon as
 * its terminating NUL is seen, so frames that precede a malformed one are
 * still delivered before push() throws.
 *
 * The session calls setVersion() after negotiation, typically from inside
 * onFrame(CONNECT); frames later in the same chunk already use the new rules.
 */
export class StompParser {
  private readonly limits: StompCodecLimits;
  private readonly nulInCommand: boolean;
  private currentVersion: StompVersion;
  /** The version whose rules apply to the frame being parsed, fixed when it begins. */
  private frameVersion: StompVersion;
  private failure: StompCodecError | undefined;
  private state = FRAME_START;
  private readonly names = new NameCache();

  // Frame under construction.
  private command = '';
  private headers: StompHeader[] = [];
  private contentLengthRaw: string | undefined;
  /** Decode backslash escapes in this frame's headers (1.1+, not CONNECT/STOMP/CONNECTED). */
  private unescape = false;
  /** Strip 1.0-style padding around header names and values. */
  private trim = false;
  /** 1.2: a CR is only ever the first half of a CRLF. */
  private strictCr = false;

  // Current line (command or header), accumulated unescaped in `token`.
  private token: Buffer = Buffer.allocUnsafe(256);
  private tokenLength = 0;
  private tokenAscii = true;
  /** Raw bytes of the current line so far, EOL excluded. */
  private lineLength = 0;
  private crPending = false;
  private escapePending = false;
  private headerName = '';

  // Body under construction.
  private body: Buffer = EMPTY_BODY;
  private bodyFilled = 0;
  private bodyParts: Buffer[] = [];
  private bodyPartsLength = 0;

  constructor(
    private readonly handler: StompParserHandler,
    options: StompParserOptions = {},
  ) {
    this.limits = resolveLimits(options.limits);
    this.nulInCommand = options.nulInCommand === true;
    this.currentVersion = options.version ?? '1.0';
    this.frameVersion = this.currentVersion;
  }

  get version(): StompVersion {
    return this.currentVersion;
  }

  /** Header rules for frames that begin from now on (not one already half-read). */
  setVersion(version: StompVersion): void {
    this.currentVersion = version;
  }

  /** True between frames: nothing of a frame is buffered. */
  get isIdle(): boolean {
    return this.state === FRAME_START;
  }

  /**
   * Feeds bytes. Throws StompCodecError on a malformed frame or a limit
   * violation; the parser then stays failed (every later push throws the same
   * error) because the byte stream can no longer be trusted. The parser's
   * state is reset before each onFrame call, so an exception thrown by the
   * handler propagates with the parser still usable, but the rest of that
   * chunk is not parsed. Returns the bytes after the frame where the handler's
   * stopAfterFrame stopped it (push them later), if any.
   */
  push(chunk: Buffer): Buffer | undefined {
    if (this.failure) throw this.failure;
    try {
      return this.run(chunk);
    } catch (err) {
      if (err instanceof StompCodecError) this.failure = err;
      throw err;
    }
  }

  private run(chunk: Buffer): Buffer | undefined {
    const n = chunk.length;
    const handler = this.handler;
    let i = 0;
    while (i < n) {
      switch (this.state) {
        case FRAME_START: {
          const b = chunk[i]!;
          if (b === LF) {
            i++;
            this.handler.onHeartbeat?.();
          } else if (b === CR) {
            i++;
            this.state = FRAME_START_CR;
          } else if (b === NUL) {
            // Stray NULs between frames are noise, as RabbitMQ treats them.
            i++;
          } else {
            this.beginFrame();
          }
          break;
        }
        case FRAME_START_CR:
          if (chunk[i] !== LF) {
            throw new StompCodecError('malformed-eol', 'Malformed frame', 'A carriage return between frames must be followed by a line feed.');
          }
          i++;
          this.state = FRAME_START;
          this.handler.onHeartbeat?.();
          break;
        case COMMAND: {
          // Whole line in the chunk: fast path; otherwise (or if it declines) the byte loop.
          const next = this.lineLength === 0 && !this.crPending ? this.wholeCommandLine(chunk, i) : i;
          i = next !== i ? next : this.scanCommand(chunk, i, n);
          break;
        }
        case HEADER_NAME: {
          const next = this.lineLength === 0 && !this.crPending ? this.wholeHeaderLine(chunk, i) : i;
          i = next !== i ? next : this.scanHeaderName(chunk, i, n);
          break;
        }
        case HEADER_VALUE:
          i = this.scanHeaderValue(chunk, i, n);
          break;
        case BODY_BY_LENGTH: {
          const take = Math.min(this.body.length - this.bodyFilled, n - i);
          this.body.set(chunk.subarray(i, i + take), this.bodyFilled);
          this.bodyFilled += take;
          i += take;
          if (this.bodyFilled === this.body.length) this.state = BODY_TERMINATOR;
          break;
        }
        case BODY_TERMINATOR: {
          const b = chunk[i]!;
          if (b !== NUL) {
            throw new StompCodecError(
              'missing-nul',
              'Malformed frame',
              `The ${this.body.length}-byte body announced by content-length must be followed by a NUL octet, found 0x${b.toString(16).padStart(2, '0')}.`,
            );
          }
          i++;
          this.emit(this.body);
          if (i < n && handler.stopAfterFrame?.()) return chunk.subarray(i);
          break;
        }
        case BODY_TO_NUL:
          i = this.scanBodyToNul(chunk, i, n);
          // the frame ended (and went out) when the state is back at a frame's start
          if ((this.state as number) === FRAME_START && i < n && handler.stopAfterFrame?.()) return chunk.subarray(i);
          break;
      }
    }
    return undefined;
  }

  private beginFrame(): void {
    this.state = COMMAND;
    this.frameVersion = this.currentVersion;
    this.strictCr = this.frameVersion === '1.2';
    this.lineLength = 0;
    this.tokenLength = 0;
    this.tokenAscii = true;
    this.crPending = false;
    this.escapePending = false;
  }

  /**
   * Fast path for the common case of a command line that lies whole in the
   * chunk and holds only plain bytes: decoded straight from the chunk.
   * Returns `i` unchanged (state untouched) to hand over to the byte loop.
   */
  private wholeCommandLine(chunk: Buffer, i: number): number {
    const limit = Math.min(chunk.length, i + this.limits.maxCommandLength + 2);
    let ascii = true;
    for (let j = i; j < limit; j++) {
      const c = chunk[j]!;
      if (c === LF) {
        const end = j > i && chunk[j - 1] === CR ? j - 1 : j;
        if (end - i > this.limits.maxCommandLength) return i;
        this.command = ascii ? this.names.decodeAscii(chunk, i, end) : decodeRange(chunk, i, end, false);
        return this.afterCommand(j + 1);
      }
      if (c === NUL || (c === CR && chunk[j + 1] !== LF)) return i;
      if (c >= 0x80) ascii = false;
    }
    return i;
  }

  /**
   * Fast path for a header line (or the blank line) that lies whole in the
   * chunk with no escapes, stray CRs or NULs: decoded straight from the
   * chunk. A single pass finds the EOL and the colon (no indexOf: for short
   * lines the native call costs more than the scan).
   * Returns `i` unchanged (state untouched) to hand over to the byte loop.
   */
  private wholeHeaderLine(chunk: Buffer, i: number): number {
    const max = this.limits.maxHeaderLineLength;
    const limit = Math.min(chunk.length, i + max + 2);
    const unescape = this.unescape;
    let colon = -1;
    let ascii = true;
    for (let j = i; j < limit; j++) {
      const c = chunk[j]!;
      if (c === LF) {
        const end = j > i && chunk[j - 1] === CR ? j - 1 : j;
        if (end === i) return this.endHeaders(j + 1);
        if (colon === -1 || end - i > max) return i;
        const name = ascii ? this.names.decodeAscii(chunk, i, colon) : decodeRange(chunk, i, colon, false);
        this.headerName = this.trim ? name.trim() : name;
        return this.addHeader(decodeRange(chunk, colon + 1, end, ascii), j + 1);
      }
      if (c === COLON) {
        if (colon === -1) colon = j;
      } else if (c === NUL || (c === BACKSLASH && unescape) || (c === CR && chunk[j + 1] !== LF)) {
        return i;
      } else if (c >= 0x80) {
        ascii = false;
      }
    }
    return i;
  }

  private scanCommand(chunk: Buffer, i: number, n: number): number {
    const max = this.limits.maxCommandLength;
    for (; i < n; i++) {
      const b = chunk[i]!;
      if (this.crPending) {
        this.crPending = false;
        if (b === LF) return this.endCommand(i + 1);
        this.strayCr(max, 'command-too-long');
      }
      if (b === LF) return this.endCommand(i + 1);
      if (b === CR) {
        this.crPending = true;
        continue;
      }
      if (b === NUL && !this.nulInCommand) throw incompleteHeaders();
      if (++this.lineLength > max) throw commandTooLong(max);
      this.append(b);
    }
    return i;
  }

  private endCommand(next: number): number {
    this.command = this.takeToken();
    return this.afterCommand(next);
  }

  private afterCommand(next: number): number {
    const command = this.command;
    const connect = command === 'CONNECT' || command === 'STOMP';
    const unescaped = connect || command === 'CONNECTED';
    this.unescape = !unescaped && this.frameVersion !== '1.0';
    // CONNECT's padding rule follows the client's own version (see endHeaders), not ours.
    this.trim = !connect && this.frameVersion === '1.0';
    this.headers = [];
    this.contentLengthRaw = undefined;
    this.lineLength = 0;
    this.state = HEADER_NAME;
    return next;
  }

  private scanHeaderName(chunk: Buffer, i: number, n: number): number {
    const max = this.limits.maxHeaderLineLength;
    for (; i < n; i++) {
      const b = chunk[i]!;
      if (this.escapePending) {
        this.escapePending = false;
        if (++this.lineLength > max) throw headerLineTooLong(max);
        this.appendEscaped(b);
        continue;
      }
      if (this.crPending) {
        this.crPending = false;
        if (b === LF) return this.endHeaderNameLine(i + 1);
        this.strayCr(max, 'header-line-too-long');
      }
      if (b === LF) return this.endHeaderNameLine(i + 1);
      if (b === CR) {
        this.crPending = true;
        continue;
      }
      if (++this.lineLength > max) throw headerLineTooLong(max);
      if (b === COLON) {
        const name = this.takeToken();
        this.headerName = this.trim ? name.trim() : name;
        this.state = HEADER_VALUE;
        return i + 1;
      }
      if (b === BACKSLASH && this.unescape) {
        this.escapePending = true;
        continue;
      }
      if (b === NUL) throw incompleteHeaders();
      this.append(b);
    }
    return i;
  }

  /** An EOL while reading a name: either the blank line ending the headers, or a header without a colon. */
  private endHeaderNameLine(next: number): number {
    if (this.lineLength === 0) return this.endHeaders(next);
    const line = this.takeToken();
    throw new StompCodecError('malformed-header', 'Malformed header', `Header line "${truncate(line)}" has no colon separating name and value.`);
  }

  private scanHeaderValue(chunk: Buffer, i: number, n: number): number {
    const max = this.limits.maxHeaderLineLength;
    const unescape = this.unescape;
    for (; i < n; i++) {
      const b = chunk[i]!;
      if (this.escapePending) {
        this.escapePending = false;
        if (++this.lineLength > max) throw headerLineTooLong(max);
        this.appendEscaped(b);
        continue;
      }
      if (this.crPending) {
        this.crPending = false;
        if (b === LF) return this.endHeaderLine(i + 1);
        this.strayCr(max, 'header-line-too-long');
      }
      if (b === LF) return this.endHeaderLine(i + 1);
      if (b === CR) {
        this.crPending = true;
        continue;
      }
      if (++this.lineLength > max) throw headerLineTooLong(max);
      if (b === BACKSLASH && unescape) {
        this.escapePending = true;
        continue;
      }
      if (b === NUL) throw incompleteHeaders();
      // A raw colon in a value is tolerated (RabbitMQ does too): only the first one separates.
      this.append(b);
    }
    return i;
  }

  private endHeaderLine(next: number): number {
    return this.addHeader(this.takeToken(), next);
  }

  /** Records `this.headerName: raw` and moves on to the next header line. */
  private addHeader(raw: string, next: number): number {
    const max = this.limits.maxHeaderCount;
    if (this.headers.length >= max) {
      throw new StompCodecError('too-many-headers', 'Too many headers', `The frame has more than ${max} headers.`);
    }
    const value = this.trim ? raw.trim() : raw;
    const name = this.headerName;
    this.headers.push([name, value]);
    if (this.contentLengthRaw === undefined && name === 'content-length') this.contentLengthRaw = value;
    this.lineLength = 0;
    this.state = HEADER_NAME;
    return next;
  }

  private endHeaders(next: number): number {
    if ((this.command === 'CONNECT' || this.command === 'STOMP') && !this.headers.some((h) => h[0] === 'accept-version')) {
      // A CONNECT without accept-version comes from a 1.0 client, whose
      // examples padded headers ("login: guest"); 1.1+ forbids trimming.
      for (const h of this.headers) {
        h[0] = h[0].trim();
        h[1] = h[1].trim();
      }
      const cl = this.headers.find((h) => h[0] === 'content-length');
      this.contentLengthRaw = cl?.[1];
    }
    const rawLength = this.contentLengthRaw;
    if (rawLength === undefined) {
      this.bodyParts = [];
      this.bodyPartsLength = 0;
      this.state = BODY_TO_NUL;
      return next;
    }
    const length = parseContentLength(rawLength);
    if (length < 0) {
      throw new StompCodecError('invalid-content-length', 'Invalid content-length', `The content-length header "${truncate(rawLength)}" is not a non-negative integer.`, rawLength);
    }
    if (length > this.limits.maxBodySize) throw bodyTooLarge(length, this.limits.maxBodySize);
    if (length === 0) {
      this.body = EMPTY_BODY;
      this.state = BODY_TERMINATOR;
    } else {
      this.body = Buffer.allocUnsafe(length);
      this.bodyFilled = 0;
      this.state = BODY_BY_LENGTH;
    }
    return next;
  }

  private scanBodyToNul(chunk: Buffer, i: number, n: number): number {
    const max = this.limits.maxBodySize;
    const end = chunk.indexOf(NUL, i);
    if (end === -1) {
      const length = n - i;
      if (this.bodyPartsLength + length > max) throw bodyTooLarge(this.bodyPartsLength + length, max);
      // Copied: holding a subarray would pin the whole socket chunk for as long as the message lives.
      this.bodyParts.push(copyOf(chunk, i, n));
      this.bodyPartsLength += length;
      return n;
    }
    const length = end - i;
    const total = this.bodyPartsLength + length;
    if (total > max) throw bodyTooLarge(total, max);
    let body: Buffer;
    if (this.bodyParts.length === 0) {
      body = length === 0 ? EMPTY_BODY : copyOf(chunk, i, end);
    } else {
      this.bodyParts.push(chunk.subarray(i, end));
      body = Buffer.concat(this.bodyParts, total);
    }
    this.bodyParts = [];
    this.bodyPartsLength = 0;
    this.emit(body);
    return end + 1;
  }

  private emit(body: Buffer): void {
    const frame: StompFrame = { command: this.command, headers: this.headers, body };
    this.headers = [];
    this.body = EMPTY_BODY;
    this.state = FRAME_START;
    this.handler.onFrame(frame);
  }

  /** A CR that turned out not to start a CRLF. */
  private strayCr(max: number, code: 'command-too-long' | 'header-line-too-long'): void {
    if (this.strictCr) {
      throw new StompCodecError('malformed-eol', 'Malformed frame', 'In STOMP 1.2 a carriage return may only appear as part of a CRLF line ending; escape it as \\r in header values.');
    }
    // 1.0/1.1 have no way to escape CR, so a lone one is data.
    if (++this.lineLength > max) throw code === 'command-too-long' ? commandTooLong(max) : headerLineTooLong(max);
    this.append(CR);
  }

  private appendEscaped(code: number): void {
    switch (code) {
      case 0x6e: // n
        this.append(LF);
        return;
      case 0x63: // c
        this.append(COLON);
        return;
      case BACKSLASH:
        this.append(BACKSLASH);
        return;
      case 0x72: // r, defined from 1.2 on
        if (this.frameVersion === '1.2') {
          this.append(CR);
          return;
        }
    }
    const shown = code === LF ? '\\ at the end of a line' : code === CR ? '\\ before a carriage return' : `\\${String.fromCharCode(code)}`;
    const allowed = this.frameVersion === '1.2' ? '\\r, \\n, \\c and \\\\' : '\\n, \\c and \\\\';
    throw new StompCodecError('invalid-escape', 'Invalid header escape', `Undefined escape sequence (${shown}) in a header; STOMP ${this.frameVersion} defines only ${allowed}.`);
  }

  private append(b: number): void {
    if (this.tokenLength === this.token.length) {
      const bigger = Buffer.allocUnsafe(this.token.length * 2);
      this.token.copy(bigger, 0, 0, this.tokenLength);
      this.token = bigger;
    }
    this.token[this.tokenLength++] = b;
    if (b >= 0x80) this.tokenAscii = false;
  }

  private takeToken(): string {
    const length = this.tokenLength;
    const s = decodeRange(this.token, 0, length, this.tokenAscii);
    this.tokenLength = 0;
    this.tokenAscii = true;
    return s;
  }
}

export interface ParsedStompStream {
  frames: StompFrame[];
  heartbeats: number;
  /** Bytes of an unfinished frame were left over at the end of the input. */
  incomplete: boolean;
}

/** Parses a complete byte string in one go (tools and tests; sessions use StompParser). */
export function parseStompFrames(input: Buffer, options?: StompParserOptions): ParsedStompStream {
  const frames: StompFrame[] = [];
  let heartbeats = 0;
  const parser = new StompParser(
    {
      onFrame: (frame) => frames.push(frame),
      onHeartbeat: () => heartbeats++,
    },
    options,
  );
  parser.push(input);
  return { frames, heartbeats, incomplete: !parser.isIdle };
}

function copyOf(chunk: Buffer, start: number, end: number): Buffer {
  const out = Buffer.allocUnsafe(end - start);
  // TypedArray#set skips Buffer#copy's argument checking.
  out.set(chunk.subarray(start, end));
  return out;
}

/**
 * Decimal digits, optionally padded with spaces (RabbitMQ strips them too: a
 * padded number is unambiguous, unlike a padded destination). -1 if invalid;
 * values past 2^53 saturate, which any body limit rejects anyway.
 */
function parseContentLength(raw: string): number {
  let i = 0;
  let end = raw.length;
  while (i < end && raw.charCodeAt(i) === 0x20) i++;
  while (end > i && raw.charCodeAt(end - 1) === 0x20) end--;
  if (i === end) return -1;
  let value = 0;
  for (; i < end; i++) {
    const d = raw.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return -1;
    value = Math.min(value * 10 + d, Number.MAX_SAFE_INTEGER);
  }
  return value;
}

function truncate(s: string): string {
  return s.length > 64 ? `${s.slice(0, 64)}...` : s;
}

function incompleteHeaders(): StompCodecError {
  return new StompCodecError(
    'incomplete-headers',
    'Malformed frame',
    'A NUL octet arrived before the blank line that ends the headers; every frame needs a command line, headers, an empty line, then the body.',
  );
}

function commandTooLong(max: number): StompCodecError {
  return new StompCodecError('command-too-long', 'Command too long', `The command line is longer than ${max} bytes.`);
}

function headerLineTooLong(max: number): StompCodecError {
  return new StompCodecError('header-line-too-long', 'Header too long', `A header line is longer than ${max} bytes.`);
}

function bodyTooLarge(size: number, max: number): StompCodecError {
  return new StompCodecError('body-too-large', 'Frame body too large', `The frame body of at least ${size} bytes exceeds the limit of ${max} bytes.`);
}
