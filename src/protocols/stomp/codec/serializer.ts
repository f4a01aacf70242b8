import { isUnescapedCommand, type StompFrame, type StompVersion } from './frame.js';

const NUL = 0x00;
const LF = 0x0a;
const COLON = 0x3a;
const BACKSLASH = 0x5c;

export interface StompSerializeOptions {
  /**
   * Write an LF after the frame's NUL, as RabbitMQ always does
   * (rabbitmq-stomp#39); peers read it as a heart-beat EOL. Default true.
   */
  trailingEol?: boolean;
  /**
   * Leave content-length out (a body without NUL octets only): ActiveMQ sends
   * text messages this way, so its clients tell text from bytes by the header.
   */
  omitContentLength?: boolean;
}

/** A heart-beat as sent on the wire: one EOL. */
export const STOMP_HEARTBEAT: Buffer = Buffer.from([LF]);

// Escape tables, indexed by ASCII code: 0 = written as is, otherwise the
// letter that follows the backslash. 1.1 defines \n \c \\; 1.2 adds \r.
// 1.0 and CONNECT/CONNECTED have no escaping; there only the octets that
// would break the framing itself are written escaped, as RabbitMQ does: no
// faithful way to send them exists, and a mangled header beats a corrupt stream.
function escapeTable(chars: string): Uint8Array {
  const table = new Uint8Array(128);
  const letters: Record<string, string> = { '\\': '\\', '\n': 'n', '\r': 'r', ':': 'c' };
  for (const ch of chars) table[ch.charCodeAt(0)] = letters[ch]!.charCodeAt(0);
  return table;
}

interface EscapeRules {
  name: Uint8Array;
  value: Uint8Array;
}

const RAW_RULES: EscapeRules = { name: escapeTable('\n\r:'), value: escapeTable('\n\r') };
const V11_TABLE = escapeTable('\\\n:');
const V11_RULES: EscapeRules = { name: V11_TABLE, value: V11_TABLE };
const V12_TABLE = escapeTable('\\\n\r:');
const V12_RULES: EscapeRules = { name: V12_TABLE, value: V12_TABLE };
const NO_ESCAPES = new Uint8Array(128);

function rulesFor(command: string, version: StompVersion): EscapeRules {
  if (version === '1.0' || isUnescapedCommand(command)) return RAW_RULES;
  return version === '1.1' ? V11_RULES : V12_RULES;
}

// Frame heads are assembled in one reusable scratch buffer and copied once
// into the exact-size output, so serialising allocates one Buffer per frame
// and no per-header strings or arrays. Safe to share: serialisation is
// synchronous.
let scratch: Buffer = Buffer.allocUnsafeSlow(16 * 1024);

function reserve(used: number, extra: number): void {
  const needed = used + extra;
  if (needed <= scratch.length) return;
  const bigger = Buffer.allocUnsafeSlow(Math.max(needed, scratch.length * 2));
  scratch.copy(bigger, 0, 0, used);
  scratch = bigger;
}

/**
 * Writes `s` as UTF-8 at `off`, escaping as `table` says, in one pass (no
 * escaped copy of the string, no Buffer#write call for the usual short ASCII
 * header). Returns the new offset.
 */
function writeText(s: string, off: number, table: Uint8Array): number {
  const len = s.length;
  // Worst case 3 bytes per UTF-16 unit: an escape is 2 bytes for 1 unit,
  // a surrogate pair 4 bytes for 2 units.
  reserve(off, len * 3);
  const buf = scratch;
  for (let i = 0; i < len; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) {
      const esc = table[c]!;
      if (esc === 0) {
        buf[off++] = c;
      } else {
        buf[off++] = BACKSLASH;
        buf[off++] = esc;
      }
    } else if (c < 0x800) {
      buf[off++] = 0xc0 | (c >> 6);
      buf[off++] = 0x80 | (c & 0x3f);
    } else if (c >= 0xd800 && c <= 0xdbff && i + 1 < len && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      const cp = 0x10000 + ((c - 0xd800) << 10) + (s.charCodeAt(++i) - 0xdc00);
      buf[off++] = 0xf0 | (cp >> 18);
      buf[off++] = 0x80 | ((cp >> 12) & 0x3f);
      buf[off++] = 0x80 | ((cp >> 6) & 0x3f);
      buf[off++] = 0x80 | (cp & 0x3f);
    } else {
      // A lone surrogate becomes U+FFFD, as Buffer#write would make it.
      const u = c >= 0xd800 && c <= 0xdfff ? 0xfffd : c;
      buf[off++] = 0xe0 | (u >> 12);
      buf[off++] = 0x80 | ((u >> 6) & 0x3f);
      buf[off++] = 0x80 | (u & 0x3f);
    }
  }
  return off;
}

const CONTENT_LENGTH_PREFIX = 'content-length:';

/**
 * Serialises a frame for a peer speaking `version`: header names and values
 * escaped by that version's rules (none in CONNECT/STOMP/CONNECTED), any
 * content-length in `frame.headers` dropped and a correct one appended after
 * the other headers when the body is non-empty (RabbitMQ's layout, byte for
 * byte), then the body and a NUL.
 */
export function serializeFrame(frame: StompFrame, version: StompVersion, options?: StompSerializeOptions): Buffer {
  const rules = rulesFor(frame.command, version);
  const headers = frame.headers;
  const body = frame.body;
  const bodyLength = body.length;

  // A command is never escaped; only framing-breaking octets would be touched.
  let off = writeText(frame.command, 0, RAW_RULES.value);
  reserve(off, 1);
  scratch[off++] = LF;
  for (let i = 0; i < headers.length; i++) {
    const h = headers[i]!;
    const name = h[0];
    if (name === 'content-length') continue;
    off = writeText(name, off, rules.name);
    reserve(off, 1);
    scratch[off++] = COLON;
    off = writeText(h[1], off, rules.value);
    reserve(off, 1);
    scratch[off++] = LF;
  }
  if (bodyLength > 0 && !(options?.omitContentLength === true && !body.includes(0))) {
    off = writeText(CONTENT_LENGTH_PREFIX, off, NO_ESCAPES);
    off = writeText(String(bodyLength), off, NO_ESCAPES);
    reserve(off, 1);
    scratch[off++] = LF;
  }
  reserve(off, 1);
  scratch[off++] = LF;

  const trailingEol = options?.trailingEol ?? true;
  const out = Buffer.allocUnsafe(off + bodyLength + (trailingEol ? 2 : 1));
  // TypedArray#set: no Buffer#copy argument checking on the hot path.
  out.set(scratch.subarray(0, off));
  let end = off;
  if (bodyLength > 0) {
    out.set(body, off);
    end += bodyLength;
  }
  out[end++] = NUL;
  if (trailingEol) out[end] = LF;
  return out;
}
