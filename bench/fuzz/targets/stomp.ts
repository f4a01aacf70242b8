/** STOMP 1.0/1.1/1.2: the streaming frame parser (headers, escapes, content-length, limits) and CONNECT's heart-beat header, as the connection does. */
import fc from 'fast-check';
import { StompCodecError, StompParser, getHeader, serializeFrame, type StompVersion } from '../../../src/protocols/stomp/codec/index.js';
import { StompError } from '../../../src/protocols/stomp/errors.js';
import { negotiateHeartbeat } from '../../../src/protocols/stomp/heartbeat.js';
import type { FuzzTarget } from '../harness.js';
import { chunksOf } from '../mutate.js';

/** limits the parser is given while fuzzing: a declared content-length over the body limit must be refused before buffering */
const LIMITS = { maxBodySize: 4096, maxHeaderCount: 32, maxHeaderLineLength: 1024, maxCommandLength: 64 };
const VERSIONS: StompVersion[] = ['1.0', '1.1', '1.2'];

const COMMANDS = ['CONNECT', 'STOMP', 'SEND', 'SUBSCRIBE', 'UNSUBSCRIBE', 'ACK', 'NACK', 'BEGIN', 'COMMIT', 'ABORT', 'DISCONNECT'];
const HEADER_NAMES = ['destination', 'id', 'ack', 'receipt', 'transaction', 'content-type', 'content-length', 'accept-version', 'host', 'login', 'passcode', 'heart-beat', 'persistent', 'reply-to', 'x-custom', 'prefetch-count', 'expires', 'selector'];

/** header text that needs escaping in 1.1+: colons, backslashes, CR, LF, non-ASCII */
const headerText = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.array(fc.constantFrom('a', 'b', ':', '\\', '\n', '\r', 'é', '€', ' ', '/', '0'), { maxLength: 20 }).map((a) => a.join('')),
);

const heartBeat = fc.oneof(
  fc.tuple(fc.nat(100_000), fc.nat(100_000)).map(([a, b]) => `${a},${b}`),
  fc.constantFrom('0,0', '10000,10000', ' 5000 , 5000 ', '1,', ',', 'x,y', '99999999999999999999,1'),
);

const header: fc.Arbitrary<[string, string]> = fc.oneof(
  fc.tuple(fc.constantFrom(...HEADER_NAMES), headerText),
  fc.tuple(fc.constant('heart-beat'), heartBeat),
  fc.tuple(fc.constant('accept-version'), fc.constantFrom('1.0', '1.1', '1.2', '1.0,1.1,1.2', '2.0', '')),
  fc.tuple(headerText, headerText),
);

const frame = fc
  .record({
    command: fc.oneof({ weight: 9, arbitrary: fc.constantFrom(...COMMANDS) }, { weight: 1, arbitrary: fc.string({ minLength: 1, maxLength: 12 }) }),
    headers: fc.array(header, { maxLength: 8 }),
    body: fc.oneof(fc.uint8Array({ maxLength: 600 }), fc.string({ maxLength: 200 }).map((s) => new TextEncoder().encode(s))),
    version: fc.constantFrom(...VERSIONS),
    omitContentLength: fc.boolean(),
    trailingEol: fc.boolean(),
  })
  .map(({ command, headers, body, version, omitContentLength, trailingEol }) => {
    // a frame without content-length ends at the first NUL: keep its body NUL-free
    const b = Buffer.from(omitContentLength ? body.filter((x) => x !== 0) : body);
    const clean = command.replace(/[\0\n\r]/g, 'X') || 'SEND';
    return Buffer.from(serializeFrame({ command: clean, headers: headers.filter(([n]) => n !== 'content-length' || !omitContentLength), body: b }, version, { omitContentLength, trailingEol }));
  });

/** the bytes of several frames with heart-beat EOLs between them, as a client streams them */
const stream = fc.tuple(fc.array(frame, { minLength: 1, maxLength: 3 }), fc.constantFrom('', '\n', '\r\n', '\n\n')).map(([frames, eol]) => Buffer.concat(frames.flatMap((f) => [f, Buffer.from(eol)])));

export const stompTarget: FuzzTarget = {
  name: 'stomp',
  valid: stream,
  // the version the parser starts with (1.0 until CONNECT negotiates; a session after it)
  variants: VERSIONS.length,
  limit: LIMITS.maxBodySize,
  run(input) {
    const parser = new StompParser(
      {
        onFrame: (f) => {
          // what the session reads off CONNECT before anything else
          if (f.command === 'CONNECT' || f.command === 'STOMP') negotiateHeartbeat(getHeader(f, 'heart-beat'));
        },
      },
      { version: VERSIONS[input.variant], limits: LIMITS },
    );
    for (const chunk of chunksOf(input)) parser.push(chunk);
  },
  expected: (err) => err instanceof StompCodecError || err instanceof StompError,
};
