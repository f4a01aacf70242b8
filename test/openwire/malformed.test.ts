import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type LocalMQ } from '../../src/index.js';
import { createLogger } from '../../src/server/logger.js';
import { T } from '../../src/protocols/openwire/codec/types.js';
import { RawOpenWire } from '../helpers/openwire.js';

/**
 * Bad OpenWire input closes that connection with a clear log line; other clients keep
 * being served.
 */
describe('OpenWire: malformed input', () => {
  let broker: LocalMQ;
  let port: number;
  const logs: { msg: string; error?: string }[] = [];

  beforeAll(async () => {
    broker = await startBroker({
      engine: 'activemq',
      ports: { openwire: 0 },
      logger: createLogger('info', (line) => logs.push(JSON.parse(line) as { msg: string })),
      openwire: { maxFrameSize: 64 * 1024 },
    });
    port = Number(new URL(broker.urls.openwire!).port);
  });
  afterAll(async () => {
    await broker.stop();
  });

  const closedWith = async (c: RawOpenWire, pattern: RegExp) => {
    await c.closed;
    expect(logs.some((l) => l.msg.startsWith('OpenWire connection closed') && pattern.test(l.error ?? l.msg))).toBe(true);
  };

  it('closes each bad connection and keeps serving a good one', async () => {
    const good = await RawOpenWire.connected(port);

    // an HTTP request is garbage to OpenWire: its first bytes read as a huge size prefix
    const garbage = await RawOpenWire.open(port);
    garbage.socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    await closedWith(garbage, /Frame size of \d+ larger than max allowed 65536/);

    // a size prefix over MaxFrameSize, refused before any of the frame arrives
    const big = await RawOpenWire.connected(port);
    const prefix = Buffer.alloc(4);
    prefix.writeInt32BE(65537);
    big.socket.write(prefix);
    await closedWith(big, /Frame size of 65537 larger than max allowed 65536/);

    // an unknown command type
    const unknown = await RawOpenWire.connected(port);
    unknown.socket.write(Buffer.from([0, 0, 0, 1, 99]));
    await closedWith(unknown, /Unknown data type: 99/);

    // a known structure that is not a command (a queue)
    const notCommand = await RawOpenWire.connected(port);
    notCommand.write({ type: T.Queue, physicalName: 'q' });
    await closedWith(notCommand, /not a command/);

    // a truncated structure
    const truncated = await RawOpenWire.connected(port);
    truncated.socket.write(Buffer.from([0, 0, 0, 2, T.SessionInfo, 0]));
    await closedWith(truncated, /truncated command/);

    // the good client was served throughout
    const session = await good.request({ type: T.SessionInfo, sessionId: { type: T.SessionId, connectionId: 'x', value: 1 } });
    expect(session.type).toBe(T.Response);
    good.close();
  });

  it('closes a connection that never sends its WireFormatInfo', async () => {
    await broker.stop();
    broker = await startBroker({
      engine: 'activemq',
      ports: { openwire: 0 },
      logger: createLogger('info', (line) => logs.push(JSON.parse(line) as { msg: string })),
      openwire: { negotiationTimeoutMs: 200 },
    });
    const silent = await RawOpenWire.open(Number(new URL(broker.urls.openwire!).port));
    await closedWith(silent, /no WireFormatInfo in time/);
  });
});
