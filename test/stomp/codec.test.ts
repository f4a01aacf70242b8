import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  StompCodecError,
  StompParser,
  createFrame,
  getHeader,
  getHeaderValues,
  headersToObject,
  parseStompFrames,
  serializeFrame,
  type StompCodecLimits,
  type StompFrame,
  type StompVersion,
} from '../../src/protocols/stomp/codec/index.js';

const FIXTURES = new URL('../fixtures/rabbitmq/', import.meta.url);
const fixture = (name: string): Buffer => readFileSync(new URL(name, FIXTURES));

const b = (s: string): Buffer => Buffer.from(s, 'utf8');

interface Collected {
  frames: StompFrame[];
  heartbeats: number;
  parser: StompParser;
}

function collector(version: StompVersion = '1.2', limits?: Partial<StompCodecLimits>): Collected {
  const out: Collected = { frames: [], heartbeats: 0, parser: undefined as unknown as StompParser };
  out.parser = new StompParser(
    {
      onFrame: (f) => out.frames.push(f),
      onHeartbeat: () => out.heartbeats++,
    },
    { version, limits },
  );
  return out;
}

function parseChunks(chunks: Buffer[], version: StompVersion = '1.2', limits?: Partial<StompCodecLimits>): Collected {
  const c = collector(version, limits);
  for (const chunk of chunks) c.parser.push(chunk);
  return c;
}

/** Plain comparable form of a frame. */
const view = (f: StompFrame) => ({ command: f.command, headers: f.headers, body: f.body.toString('latin1') });

function parseError(input: Buffer, version: StompVersion = '1.2', limits?: Partial<StompCodecLimits>): StompCodecError {
  try {
    parseChunks([input], version, limits);
  } catch (err) {
    expect(err).toBeInstanceOf(StompCodecError);
    return err as StompCodecError;
  }
  throw new Error('expected a StompCodecError');
}

describe('StompParser: framing', () => {
  it('parses a frame with headers and a NUL-terminated body', () => {
    const { frames } = parseChunks([b('SEND\ndestination:/queue/a\nreceipt:r1\n\nhello\0')]);
    expect(frames.map(view)).toEqual([
      {
        command: 'SEND',
        headers: [
          ['destination', '/queue/a'],
          ['receipt', 'r1'],
        ],
        body: 'hello',
      },
    ]);
  });

  it('parses several frames in one chunk, with heart-beat EOLs (LF and CRLF) between them', () => {
    const input = b('\n\r\nSEND\ndestination:/q\n\none\0\nBEGIN\ntransaction:t\n\n\0\r\n\n\nCOMMIT\ntransaction:t\n\n\0');
    const { frames, heartbeats } = parseChunks([input]);
    expect(frames.map((f) => f.command)).toEqual(['SEND', 'BEGIN', 'COMMIT']);
    expect(frames[0]!.body.toString()).toBe('one');
    expect(frames[1]!.body.length).toBe(0);
    // 2 before the first frame, 1 after SEND, 3 after BEGIN.
    expect(heartbeats).toBe(6);
  });

  it('reports heart-beats that arrive alone, and skips stray NULs between frames', () => {
    const c = collector();
    c.parser.push(b('\n'));
    c.parser.push(b('\r'));
    expect(c.heartbeats).toBe(1);
    c.parser.push(b('\n\0\0'));
    expect(c.heartbeats).toBe(2);
    expect(c.frames).toHaveLength(0);
    expect(c.parser.isIdle).toBe(true);
  });

  it('gives the same result for every split point and for byte-by-byte input', () => {
    const input = b(
      '\nCONNECT\r\naccept-version:1.2\r\nhost:/\r\n\r\n\0\n' +
        'SEND\ndestination:/queue/x\ncontent-length:5\nweird\\cname:va\\\\lue\\n\n\na\0b\0c\0\n' +
        'SEND\ndestination:/queue/y\n\nno length \u00e9\0' +
        'UNKNOWN-CMD\nx:y\n\n\0',
    );
    const whole = parseChunks([input]);
    expect(whole.frames.map((f) => f.command)).toEqual(['CONNECT', 'SEND', 'SEND', 'UNKNOWN-CMD']);
    expect(whole.frames[1]!.body).toEqual(Buffer.from('a\0b\0c'));
    expect(whole.frames[1]!.headers[2]).toEqual(['weird:name', 'va\\lue\n']);
    expect(whole.frames[2]!.body.toString()).toBe('no length \u00e9');
    const expected = whole.frames.map(view);

    for (let split = 0; split <= input.length; split++) {
      const parts = parseChunks([input.subarray(0, split), input.subarray(split)]);
      expect(parts.frames.map(view), `split at ${split}`).toEqual(expected);
      expect(parts.heartbeats).toBe(whole.heartbeats);
    }
    const bytes: Buffer[] = [];
    for (let i = 0; i < input.length; i++) bytes.push(input.subarray(i, i + 1));
    const single = parseChunks(bytes);
    expect(single.frames.map(view)).toEqual(expected);
    expect(single.heartbeats).toBe(whole.heartbeats);
  });

  it('copies bodies so that a frame does not keep the socket chunk alive or see it change', () => {
    const input = b('SEND\ndestination:/q\ncontent-length:3\n\nabc\0SEND\ndestination:/q\n\nxyz\0');
    const { frames } = parseChunks([input]);
    input.fill(0x21);
    expect(frames.map((f) => f.body.toString())).toEqual(['abc', 'xyz']);
  });

  it('returns unknown commands as they are: the session decides', () => {
    const { frames } = parseChunks([b('FROB\nfoo:bar\n\n\0')]);
    expect(frames[0]!.command).toBe('FROB');
  });

  it('notes an unfinished frame at the end of the input', () => {
    const result = parseStompFrames(b('SEND\ndestination:/q\n\npartial'), { version: '1.2' });
    expect(result.frames).toHaveLength(0);
    expect(result.incomplete).toBe(true);
  });
});

describe('StompParser: content-length', () => {
  it('reads exactly content-length bytes, NULs included', () => {
    const body = Buffer.from([0, 1, 0, 0xff, 0]);
    const input = Buffer.concat([b('SEND\ndestination:/q\ncontent-length:5\n\n'), body, b('\0')]);
    const { frames } = parseChunks([input]);
    expect(frames[0]!.body).toEqual(body);
  });

  it('accepts content-length:0', () => {
    const { frames } = parseChunks([b('SEND\ndestination:/q\ncontent-length:0\n\n\0')]);
    expect(frames[0]!.body.length).toBe(0);
  });

  it('uses the first content-length when it is repeated', () => {
    const { frames } = parseChunks([b('SEND\ncontent-length:2\ncontent-length:9\n\nab\0')]);
    expect(frames[0]!.body.toString()).toBe('ab');
  });

  it('errors when the octet after the content-length body is not NUL', () => {
    const err = parseError(b('SEND\ndestination:/q\ncontent-length:3\n\nabcd\0'));
    expect(err.code).toBe('missing-nul');
    expect(err.message).toBe('Malformed frame');
    expect(err.explanation).toContain('NUL');
  });

  it('rejects a content-length that is not a non-negative integer', () => {
    for (const bad of ['abc', '-1', '1.5', '', '0x10']) {
      const err = parseError(b(`SEND\ncontent-length:${bad}\n\n\0`));
      expect(err.code).toBe('invalid-content-length');
    }
  });

  it('tolerates spaces around the content-length number', () => {
    const { frames } = parseChunks([b('SEND\ncontent-length: 2 \n\nab\0')]);
    expect(frames[0]!.body.toString()).toBe('ab');
  });
});

describe('StompParser: line endings', () => {
  it('accepts CRLF on the command line, header lines and the blank line', () => {
    const { frames } = parseChunks([b('SEND\r\ndestination:/q\r\nx:1\r\n\r\nbody\0')]);
    expect(view(frames[0]!)).toEqual({
      command: 'SEND',
      headers: [
        ['destination', '/q'],
        ['x', '1'],
      ],
      body: 'body',
    });
  });

  it('in 1.2 rejects a CR that is not followed by LF', () => {
    expect(parseError(b('SEND\ndestination:/q\rx\n\n\0'), '1.2').code).toBe('malformed-eol');
  });

  it('in 1.0 and 1.1 keeps a lone CR as header data', () => {
    const { frames } = parseChunks([b('SEND\nx:a\rb\n\n\0')], '1.1');
    expect(frames[0]!.headers[0]).toEqual(['x', 'a\rb']);
  });

  it('rejects a CR between frames that is not followed by LF', () => {
    expect(parseError(b('\rSEND\n\n\0')).code).toBe('malformed-eol');
  });
});

describe('StompParser: header escaping by version', () => {
  const frame = 'MESSAGE\nna\\cme:a\\nb\\\\c\\cd\n\n\0';

  it('1.2 decodes \\n \\c \\\\ and \\r, in names and values', () => {
    const { frames } = parseChunks([b('SEND\nk:a\\rb\nna\\cme:a\\nb\\\\c\\cd\n\n\0')], '1.2');
    expect(frames[0]!.headers).toEqual([
      ['k', 'a\rb'],
      ['na:me', 'a\nb\\c:d'],
    ]);
  });

  it('1.1 decodes \\n \\c \\\\ but \\r is undefined there, hence fatal', () => {
    expect(parseChunks([b(frame)], '1.1').frames[0]!.headers).toEqual([['na:me', 'a\nb\\c:d']]);
    const err = parseError(b('SEND\nk:a\\rb\n\n\0'), '1.1');
    expect(err.code).toBe('invalid-escape');
    expect(err.explanation).toContain('\\r');
  });

  it('an undefined escape such as \\t is a fatal error in 1.1 and 1.2', () => {
    for (const version of ['1.1', '1.2'] as const) {
      expect(parseError(b('SEND\nk:a\\tb\n\n\0'), version).code).toBe('invalid-escape');
      expect(parseError(b('SEND\nk:ab\\\n\n\0'), version).code).toBe('invalid-escape');
    }
  });

  it('1.0 applies no escapes', () => {
    const { frames } = parseChunks([b('SEND\nk:a\\tb\\nc\n\n\0')], '1.0');
    expect(frames[0]!.headers).toEqual([['k', 'a\\tb\\nc']]);
  });

  it('CONNECT, STOMP and CONNECTED are never unescaped', () => {
    for (const command of ['CONNECT', 'STOMP', 'CONNECTED']) {
      const { frames } = parseChunks([b(`${command}\naccept-version:1.2\npasscode:p\\t\\nw\n\n\0`)], '1.2');
      expect(frames[0]!.headers[1]).toEqual(['passcode', 'p\\t\\nw']);
    }
  });

  it('setVersion from inside onFrame applies to the next frame of the same chunk', () => {
    const frames: StompFrame[] = [];
    const parser: StompParser = new StompParser({
      onFrame(f) {
        frames.push(f);
        if (f.command === 'CONNECT') parser.setVersion('1.1');
      },
    });
    expect(parser.version).toBe('1.0');
    parser.push(b('CONNECT\naccept-version:1.1\n\n\0SEND\nk:a\\cb\n\n\0'));
    expect(frames[1]!.headers).toEqual([['k', 'a:b']]);
  });

  it('only the first colon separates name and value', () => {
    const { frames } = parseChunks([b('SEND\nk:a:b\n\n\0')], '1.2');
    expect(frames[0]!.headers).toEqual([['k', 'a:b']]);
  });

  it('decodes UTF-8 header values', () => {
    const { frames } = parseChunks([b('SEND\nk:\u00fcber \u2603\n\n\0')], '1.2');
    expect(frames[0]!.headers).toEqual([['k', '\u00fcber \u2603']]);
  });
});

describe('StompParser: header padding', () => {
  it('1.1 and 1.2 keep header whitespace as it is', () => {
    for (const version of ['1.1', '1.2'] as const) {
      const { frames } = parseChunks([b('SEND\ndestination: /queue/a \n\n\0')], version);
      expect(frames[0]!.headers).toEqual([['destination', ' /queue/a ']]);
    }
  });

  it('1.0 trims the padding its examples used', () => {
    const { frames } = parseChunks([b('SEND\ndestination: /queue/a \n\n\0')], '1.0');
    expect(frames[0]!.headers).toEqual([['destination', '/queue/a']]);
    const input = b('SEND\r\n destination : /queue/b \r\nx:\\n\r\n\r\n\0');
    for (let split = 0; split <= input.length; split++) {
      const parts = parseChunks([input.subarray(0, split), input.subarray(split)], '1.0');
      expect(parts.frames[0]!.headers).toEqual([
        ['destination', '/queue/b'],
        ['x', '\\n'],
      ]);
    }
  });

  it('a CONNECT without accept-version is a 1.0 client: trimmed, whatever the parser version', () => {
    const { frames } = parseChunks([b('CONNECT\nlogin: guest\npasscode: guest\n\n\0')], '1.2');
    expect(frames[0]!.headers).toEqual([
      ['login', 'guest'],
      ['passcode', 'guest'],
    ]);
  });

  it('a CONNECT with accept-version keeps its headers as they are, even on a 1.0 parser', () => {
    const { frames } = parseChunks([b('CONNECT\naccept-version:1.2\nlogin: guest\n\n\0')], '1.0');
    expect(frames[0]!.headers[1]).toEqual(['login', ' guest']);
  });
});

describe('StompParser: header names', () => {
  it('decodes non-ASCII names, and many distinct names on one connection stay distinct', () => {
    const c = collector('1.2', { maxHeaderCount: 5000 });
    const names = Array.from({ length: 2000 }, (_, i) => `h${i}`);
    const input = b(`SEND\n\u00e4\u00f6:1\n${names.map((n) => `${n}:${n}`).join('\n')}\n\n\0`);
    c.parser.push(input);
    c.parser.push(input);
    for (const f of c.frames) {
      expect(f.headers[0]).toEqual(['\u00e4\u00f6', '1']);
      expect(f.headers.slice(1).every(([k, v]) => k === v)).toBe(true);
      expect(f.headers.slice(1).map((h) => h[0])).toEqual(names);
    }
  });
});

describe('StompParser: repeated headers', () => {
  it('keeps every occurrence in order; the first one wins', () => {
    const { frames } = parseChunks([b('MESSAGE\nfoo:World\nfoo:Hello\nbar:1\n\n\0')]);
    const f = frames[0]!;
    expect(f.headers).toEqual([
      ['foo', 'World'],
      ['foo', 'Hello'],
      ['bar', '1'],
    ]);
    expect(getHeader(f, 'foo')).toBe('World');
    expect(getHeaderValues(f, 'foo')).toEqual(['World', 'Hello']);
    expect(headersToObject(f)).toEqual({ foo: 'World', bar: '1' });
    expect(getHeader(f, 'missing')).toBeUndefined();
  });
});

describe('StompParser: malformed frames', () => {
  it('rejects a header line without a colon', () => {
    const err = parseError(b('SEND\ndestination\n\n\0'));
    expect(err.code).toBe('malformed-header');
    expect(err.explanation).toContain('destination');
  });

  it('rejects a NUL before the blank line ending the headers', () => {
    expect(parseError(b('DISCONNECT\n\0')).code).toBe('incomplete-headers');
    expect(parseError(b('SEND\nk:v\0')).code).toBe('incomplete-headers');
  });

  it('stays failed after an error, but frames before it were delivered', () => {
    const c = collector();
    expect(() => c.parser.push(b('SEND\nk:v\n\nok\0SEND\nbroken\n\n\0'))).toThrow(StompCodecError);
    expect(c.frames).toHaveLength(1);
    expect(() => c.parser.push(b('SEND\n\n\0'))).toThrow(StompCodecError);
    expect(c.frames).toHaveLength(1);
  });
});

describe('StompParser: limits', () => {
  it('max body size, with content-length (checked up front) and without', () => {
    const limits = { maxBodySize: 4 };
    expect(parseChunks([b('SEND\ncontent-length:4\n\nabcd\0')], '1.2', limits).frames).toHaveLength(1);
    expect(parseChunks([b('SEND\n\nabcd\0')], '1.2', limits).frames).toHaveLength(1);
    const withLength = parseError(b('SEND\ncontent-length:5\n\n'), '1.2', limits);
    expect(withLength.code).toBe('body-too-large');
    expect(withLength.message).toBe('Frame body too large');
    expect(parseError(b('SEND\n\nabcde'), '1.2', limits).code).toBe('body-too-large');
    const c = collector('1.2', limits);
    c.parser.push(b('SEND\n\nab'));
    c.parser.push(b('cd'));
    expect(() => c.parser.push(b('e'))).toThrow(/too large/);
  });

  it('max header count, repeated names included', () => {
    const limits = { maxHeaderCount: 2 };
    expect(parseChunks([b('SEND\na:1\na:2\n\n\0')], '1.2', limits).frames).toHaveLength(1);
    expect(parseError(b('SEND\na:1\na:2\na:3\n\n\0'), '1.2', limits).code).toBe('too-many-headers');
  });

  it('max header line length, counting raw bytes but not the EOL', () => {
    const limits = { maxHeaderLineLength: 5 };
    expect(parseChunks([b('SEND\nab:cd\r\n\n\0')], '1.2', limits).frames).toHaveLength(1);
    expect(parseError(b('SEND\nab:cde\n\n\0'), '1.2', limits).code).toBe('header-line-too-long');
    // An escape counts as the two bytes it takes on the wire.
    expect(parseError(b('SEND\nab:c\\n\n\n\0'), '1.2', limits).code).toBe('header-line-too-long');
  });

  it('max command length', () => {
    const limits = { maxCommandLength: 4 };
    expect(parseChunks([b('SEND\r\n\n\0')], '1.2', limits).frames).toHaveLength(1);
    expect(parseError(b('ABORT\n\n\0'), '1.2', limits).code).toBe('command-too-long');
  });

  it('rejects invalid limit values', () => {
    expect(() => new StompParser({ onFrame() {} }, { limits: { maxBodySize: -1 } })).toThrow(RangeError);
  });
});

describe('serializeFrame', () => {
  it('reproduces RabbitMQ 3.10 CONNECTED byte for byte', () => {
    const expected = fixture('rabbitmq-3.10-stomp-connected.txt');
    const frame = createFrame('CONNECTED', [
      ['server', 'RabbitMQ/3.10.8'],
      ['session', 'session-BrioYX5Vi__6piHqieu1zw'],
      ['heart-beat', '0,0'],
      ['version', '1.2'],
    ]);
    for (const version of ['1.0', '1.1', '1.2'] as const) {
      expect(serializeFrame(frame, version)).toEqual(expected);
    }
  });

  it('reproduces RabbitMQ 3.10 bad-login ERROR byte for byte', () => {
    const expected = fixture('rabbitmq-3.10-stomp-bad-login-error.txt');
    const frame = createFrame(
      'ERROR',
      [
        ['message', 'Bad CONNECT'],
        ['content-type', 'text/plain'],
        ['version', '1.0,1.1,1.2'],
      ],
      b("Access refused for user 'guest'\n"),
    );
    for (const version of ['1.0', '1.1', '1.2'] as const) {
      expect(serializeFrame(frame, version)).toEqual(expected);
    }
  });

  it('the fixtures parse back into the frames they came from', () => {
    const connected = parseStompFrames(fixture('rabbitmq-3.10-stomp-connected.txt'), { version: '1.2' });
    expect(connected.frames.map((f) => f.command)).toEqual(['CONNECTED']);
    expect(getHeader(connected.frames[0]!, 'version')).toBe('1.2');
    expect(connected.heartbeats).toBe(1); // RabbitMQ's LF after the NUL
    const error = parseStompFrames(fixture('rabbitmq-3.10-stomp-bad-login-error.txt'), { version: '1.2' });
    expect(getHeader(error.frames[0]!, 'message')).toBe('Bad CONNECT');
    expect(error.frames[0]!.body.toString()).toBe("Access refused for user 'guest'\n");
  });

  it('replaces a caller-supplied content-length with the real one, and omits it for an empty body', () => {
    const withBody = createFrame('MESSAGE', [['content-length', '99'], ['destination', '/q']], b('abc'));
    expect(serializeFrame(withBody, '1.2').toString()).toBe('MESSAGE\ndestination:/q\ncontent-length:3\n\nabc\0\n');
    const empty = createFrame('RECEIPT', [['receipt-id', '7'], ['content-length', '0']]);
    expect(serializeFrame(empty, '1.2').toString()).toBe('RECEIPT\nreceipt-id:7\n\n\0\n');
  });

  it('can leave out the trailing EOL', () => {
    expect(serializeFrame(createFrame('RECEIPT', [['receipt-id', '1']]), '1.2', { trailingEol: false }).toString()).toBe('RECEIPT\nreceipt-id:1\n\n\0');
  });

  it('escapes by version', () => {
    const frame = createFrame('MESSAGE', [['a:b', 'x\\y\nz:w\rv']]);
    expect(serializeFrame(frame, '1.2').toString()).toBe('MESSAGE\na\\cb:x\\\\y\\nz\\cw\\rv\n\n\0\n');
    // 1.1 has no \r escape: CR goes raw.
    expect(serializeFrame(frame, '1.1').toString()).toBe('MESSAGE\na\\cb:x\\\\y\\nz\\cw\rv\n\n\0\n');
    // 1.0 has no escapes; only octets that would break the framing are escaped.
    expect(serializeFrame(frame, '1.0').toString()).toBe('MESSAGE\na\\cb:x\\y\\nz:w\\rv\n\n\0\n');
  });

  it('does not escape CONNECTED', () => {
    const frame = createFrame('CONNECTED', [['server', 'a:b\\c']]);
    expect(serializeFrame(frame, '1.2').toString()).toBe('CONNECTED\nserver:a:b\\c\n\n\0\n');
  });

  it('round-trips through the parser for every version, binary bodies and UTF-8 included', () => {
    const body = Buffer.from([0, 10, 13, 0, 255]);
    const headers: [string, string][] = [
      ['destination', '/queue/\u00e9t\u00e9'],
      ['message-id', 'T_1@@session-x@@1'],
      ['subscription', '0'],
      ['custom', 'back\\slash and colon:'],
      ['long', 'x'.repeat(200) + '\u2603'],
    ];
    for (const version of ['1.1', '1.2'] as const) {
      const wire = serializeFrame(createFrame('MESSAGE', headers, body), version);
      const parsed = parseStompFrames(wire, { version });
      expect(parsed.frames[0]!.headers).toEqual([...headers, ['content-length', '5']]);
      expect(parsed.frames[0]!.body).toEqual(body);
    }
  });

  it('encodes header text exactly as Buffer does: 2-, 3- and 4-byte UTF-8, lone surrogates', () => {
    const text = 'a\u00e9\u20ac\u{1f600}z\ud800y\udc00';
    const wire = serializeFrame(createFrame('SEND', [['k', text]]), '1.2', { trailingEol: false });
    expect(wire).toEqual(Buffer.concat([b('SEND\nk:'), Buffer.from(text, 'utf8'), b('\n\n\0')]));
  });

  it('grows its scratch space for very large headers', () => {
    const big = 'v'.repeat(100_000);
    const wire = serializeFrame(createFrame('MESSAGE', [['big', big], ['after', '1']]), '1.2');
    const parsed = parseStompFrames(wire, { version: '1.2', limits: { maxHeaderLineLength: 200_000 } });
    expect(getHeader(parsed.frames[0]!, 'big')).toBe(big);
    expect(getHeader(parsed.frames[0]!, 'after')).toBe('1');
  });
});
