import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type LocalMQ } from '../../src/index.js';
import { decodePrimitiveMap } from '../../src/protocols/openwire/codec/primitive.js';
import { T } from '../../src/protocols/openwire/codec/types.js';
import { brokerWireFormatInfo } from '../../src/protocols/openwire/codec/wire-format.js';
import { RawOpenWire } from '../helpers/openwire.js';

/** Commands answered as ActiveMQ 5.17 answers them (measured: bench/activemq-observed.md, OpenWire). */
describe('OpenWire commands, raw', () => {
  let broker: LocalMQ;
  let port: number;
  beforeAll(async () => {
    broker = await startBroker({ engine: 'activemq', ports: { openwire: 0 } });
    port = Number(new URL(broker.urls.openwire!).port);
  });
  afterAll(() => broker.stop());

  it('the broker speaks first: a loose WireFormatInfo v12 without tight encoding or cache, then BrokerInfo after the client answers', async () => {
    const c = await RawOpenWire.open(port);
    const wf = await c.next((s) => s.type === T.WireFormatInfo);
    expect(wf['version']).toBe(12);
    const props = decodePrimitiveMap(wf['marshalledProperties'] as Buffer);
    expect(props.get('TightEncodingEnabled')?.v).toBe(false);
    expect(props.get('CacheEnabled')?.v).toBe(false);
    expect(props.get('SizePrefixDisabled')?.v).toBe(false);
    expect(props.get('MaxInactivityDuration')?.v).toBe(30_000);
    expect(props.get('ProviderName')?.v).toBe('ActiveMQ');
    c.write(brokerWireFormatInfo({ maxFrameSize: 1 << 20, maxInactivityDuration: 0, maxInactivityDurationInitialDelay: 0, providerVersion: 'x' }));
    const bi = await c.next((s) => s.type === T.BrokerInfo);
    expect(bi['brokerName']).toBe('localhost');
    expect(bi['brokerId']).toMatchObject({ type: T.BrokerId, value: expect.stringMatching(/^ID:/) });
    c.close();
  });

  it('answers by correlation id; a KeepAliveInfo asking for a response gets one', async () => {
    const c = await RawOpenWire.connected(port);
    const r = await c.request({ type: T.SessionInfo, sessionId: { type: T.SessionId, connectionId: 'ID:k', value: 1 } });
    expect(r.type).toBe(T.Response);
    c.write({ type: T.KeepAliveInfo, commandId: 50, responseRequired: true });
    const ka = await c.next((s) => s.type === T.KeepAliveInfo);
    expect(ka['responseRequired']).toBe(false);
    c.close();
  });

  it("a commit of a transaction never begun: JMSException \"Transaction 'TX:…' has not been started.\"", async () => {
    const c = await RawOpenWire.connected(port);
    const conn = { type: T.ConnectionId, value: 'ID:obs-1' };
    const r = await c.request({ type: T.TransactionInfo, connectionId: conn, transactionId: { type: T.LocalTransactionId, value: 99, connectionId: conn }, txType: 2 });
    expect(r['exception']).toMatchObject({ className: 'javax.jms.JMSException', message: "Transaction 'TX:ID:obs-1:99' has not been started." });
    c.close();
  });

  it('XA transactions: a clear "not supported" ExceptionResponse', async () => {
    const c = await RawOpenWire.connected(port);
    const r = await c.request({
      type: T.TransactionInfo,
      connectionId: { type: T.ConnectionId, value: 'ID:xa' },
      transactionId: { type: T.XATransactionId, formatId: 1, globalTransactionId: Buffer.from('g'), branchQualifier: Buffer.from('b') },
      txType: 0,
    });
    expect(r['exception']).toMatchObject({ className: 'java.lang.UnsupportedOperationException', message: expect.stringMatching(/XA transactions are not supported/) });
    c.close();
  });

  it('a second connection with a client id in use: InvalidClientIDException in ActiveMQ\'s words', async () => {
    const a = await RawOpenWire.open(port);
    await a.next((s) => s.type === T.WireFormatInfo);
    a.write(brokerWireFormatInfo({ maxFrameSize: 1 << 20, maxInactivityDuration: 0, maxInactivityDurationInitialDelay: 0, providerVersion: 'x' }));
    expect((await a.request({ type: T.ConnectionInfo, connectionId: { type: T.ConnectionId, value: 'ID:a' }, clientId: 'same' })).type).toBe(T.Response);
    const b = await RawOpenWire.open(port);
    await b.next((s) => s.type === T.WireFormatInfo);
    b.write(brokerWireFormatInfo({ maxFrameSize: 1 << 20, maxInactivityDuration: 0, maxInactivityDurationInitialDelay: 0, providerVersion: 'x' }));
    const r = await b.request({ type: T.ConnectionInfo, connectionId: { type: T.ConnectionId, value: 'ID:b' }, clientId: 'same' });
    expect(r['exception']).toMatchObject({ className: 'javax.jms.InvalidClientIDException', message: expect.stringMatching(/^Broker: localhost - Client: same already connected from tcp:\/\/127\.0\.0\.1:\d+$/) });
    a.close();
    b.close();
  });

  it('a wrong password: java.lang.SecurityException "User name [x] or password is invalid." and the connection closes', async () => {
    const c = await RawOpenWire.open(port);
    await c.next((s) => s.type === T.WireFormatInfo);
    c.write(brokerWireFormatInfo({ maxFrameSize: 1 << 20, maxInactivityDuration: 0, maxInactivityDurationInitialDelay: 0, providerVersion: 'x' }));
    const r = await c.request({ type: T.ConnectionInfo, connectionId: { type: T.ConnectionId, value: 'ID:pw' }, userName: 'guest', password: 'nope' });
    expect(r['exception']).toMatchObject({ className: 'java.lang.SecurityException', message: 'User name [guest] or password is invalid.' });
    await c.closed;
  });

  it('ActiveMQ\'s InactivityMonitor: a client silent for the negotiated MaxInactivityDuration is closed, one that writes is not; the broker writes KeepAliveInfo when quiet', async () => {
    // AbstractInactivityMonitor: the read check runs every MaxInactivityDuration (the smaller
    // of both sides') and closes a connection nothing arrived on since the last check; the
    // write check sends a KeepAliveInfo when the broker wrote nothing for a third of it
    const open = async () => {
      const c = await RawOpenWire.open(port);
      await c.next((s) => s.type === T.WireFormatInfo);
      c.write(brokerWireFormatInfo({ maxFrameSize: 1 << 20, maxInactivityDuration: 300, maxInactivityDurationInitialDelay: 0, providerVersion: 'x' }));
      await c.request({ type: T.ConnectionInfo, connectionId: { type: T.ConnectionId, value: `ID:idle-${Math.random()}` } });
      return c;
    };
    const silent = await open();
    const alive = await open();
    const beat = setInterval(() => alive.write({ type: T.KeepAliveInfo, commandId: 0, responseRequired: false }), 50);
    try {
      expect((await silent.next((s) => s.type === T.KeepAliveInfo))['responseRequired']).toBe(false);
      await silent.closed;
      // the writing client outlives more read checks: the broker's keep-alives to it count the time
      for (let i = 0; i < 4; i++) await alive.next((s) => s.type === T.KeepAliveInfo);
      expect(alive.socket.destroyed).toBe(false);
    } finally {
      clearInterval(beat);
      alive.close();
    }
  });
});
