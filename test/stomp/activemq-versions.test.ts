import { describe, expect, it } from 'vitest';
import { startBroker, type LocalMQ } from '../../src/index.js';
import { RawStomp, getHeader } from '../helpers/stomp.js';

/**
 * What differs between the ActiveMQ versions Amazon MQ runs, over STOMP.
 * - 5.18 (5.18.7; up to 5.19.7): the ProtocolConverter answers a known frame before CONNECT with
 *   "Not connected." and a second CONNECT with "Already connected.", both non-fatal (the
 *   connection stays); a client's MESSAGE is an "Unknown STOMP action" (fatal). Measured on
 *   ActiveMQ 5.17.2 (same code; bench/activemq-observed.md).
 * - 5.19 (5.19.8+, "Update Stomp transports with improved validation", AMQ #2064): the
 *   StompWireFormat in server mode refuses those frames first (validateAction), fatally, without
 *   receipt-id, and a negative content-length too (parseContentLength). Texts from 5.19.10's
 *   StompWireFormat.java.
 */

async function withBroker(engineVersion: string, body: (b: LocalMQ) => Promise<void>): Promise<void> {
  const broker = await startBroker({ engine: 'activemq', engineVersion, ports: { stomp: 0 } });
  try {
    await body(broker);
  } finally {
    await broker.stop();
  }
}

const CONNECT = { 'accept-version': '1.2', host: '/', login: 'guest', passcode: 'guest' };

describe('ActiveMQ 5.18 vs 5.19 over STOMP', () => {
  it('5.18: a SEND before CONNECT gets "Not connected." and the connection stays; CONNECT then works', async () => {
    await withBroker('5.18', async (b) => {
      const c = await RawStomp.open(b);
      c.send('SEND', { destination: '/queue/a', receipt: 'r1' }, 'x');
      const err = await c.frame('ERROR');
      expect(err.headers).toEqual([['content-type', 'text/plain'], ['receipt-id', 'r1'], ['message', 'Not connected.']]);
      c.send('CONNECT', CONNECT);
      const connected = await c.frame('CONNECTED');
      expect(getHeader(connected, 'server')).toBe('ActiveMQ/5.18.7');
      c.close();
    });
  });

  it('5.18: a second CONNECT gets "Already connected." and the connection stays', async () => {
    await withBroker('5.18', async (b) => {
      const { client: c } = await RawStomp.connected(b);
      c.useVersion('1.2');
      c.send('CONNECT', CONNECT);
      const err = await c.frame('ERROR');
      expect(getHeader(err, 'message')).toBe('Already connected.');
      c.send('SEND', { destination: '/queue/a', receipt: 'r2' }, 'x');
      await c.receipt('r2');
      c.close();
    });
  });

  it('5.18: a client MESSAGE is an unknown action, and closes the connection', async () => {
    await withBroker('5.18', async (b) => {
      const { client: c } = await RawStomp.connected(b);
      c.useVersion('1.2');
      c.send('MESSAGE', { destination: '/queue/a', receipt: 'r3' }, 'x');
      const err = await c.frame('ERROR');
      expect(getHeader(err, 'message')).toBe('Unknown STOMP action: MESSAGE');
      expect(getHeader(err, 'receipt-id')).toBe('r3');
      await c.whenClosed();
    });
  });

  it("5.19: a SEND before CONNECT is refused by the wire format in server mode, without receipt-id, and the connection closes", async () => {
    await withBroker('5.19', async (b) => {
      const c = await RawStomp.open(b);
      c.send('SEND', { destination: '/queue/a', receipt: 'r1' }, 'x');
      const err = await c.frame('ERROR');
      expect(err.headers).toEqual([
        ['content-type', 'text/plain'],
        ['message', "StompWireFormat is configured for 'server' mode and received an unexpected frame before CONNECT or STOMP frame: SEND"],
      ]);
      expect(err.body.toString()).toMatch(/^org\.apache\.activemq\.transport\.stomp\.ProtocolException: StompWireFormat is configured/);
      await c.whenClosed();
    });
  });

  it('5.19: a second CONNECT and a client MESSAGE close the connection with the wire format\'s texts', async () => {
    await withBroker('5.19', async (b) => {
      const { client: c } = await RawStomp.connected(b);
      c.useVersion('1.2');
      c.send('CONNECT', CONNECT);
      const dup = await c.frame('ERROR');
      expect(getHeader(dup, 'message')).toBe("StompWireFormat is configured for 'server' mode and received a duplicate CONNECT or STOMP frame");
      await c.whenClosed();
      const { client: d } = await RawStomp.connected(b);
      d.useVersion('1.2');
      d.send('MESSAGE', { destination: '/queue/a', receipt: 'r3' }, 'x');
      const msg = await d.frame('ERROR');
      expect(getHeader(msg, 'message')).toBe("StompWireFormat is configured for 'server' mode and received a frame that is only expected when configured for 'client' mode: MESSAGE");
      expect(getHeader(msg, 'receipt-id')).toBeUndefined();
      await d.whenClosed();
    });
  });

  it('5.19: a negative content-length is refused ("Specified content-length may not be negative")', async () => {
    await withBroker('5.19', async (b) => {
      const { client: c } = await RawStomp.connected(b);
      c.useVersion('1.2');
      c.write('SEND\ndestination:/queue/a\ncontent-length:-1\n\nx\0');
      const err = await c.frame('ERROR');
      expect(getHeader(err, 'message')).toBe('Specified content-length may not be negative');
      await c.whenClosed();
    });
  });
});
