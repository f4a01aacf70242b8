import amqplib from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type LocalMQ } from '../../src/index.js';
import { createLogger } from '../../src/server/logger.js';
import { RawStomp } from '../helpers/stomp.js';

// RabbitMQ logs every client connection opened and closed at info, with the peer, user
// and vhost, and every refused login; so does LocalMQ, in every protocol.

type Line = { level: string; msg: string; protocol?: string; peer?: string; user?: string; vhost?: string; reason?: string };
const lines: Line[] = [];
let broker: LocalMQ;

beforeAll(async () => {
  broker = await startBroker({ logger: createLogger('info', (l) => lines.push(JSON.parse(l) as Line)) });
});
afterAll(async () => {
  await broker.stop();
});

/** resolve once a line matching `pred` was logged */
function logged(pred: (l: Line) => boolean): Promise<Line> {
  return new Promise((resolve) => {
    const check = () => {
      const l = lines.find(pred);
      if (l) resolve(l);
      else setTimeout(check, 10);
    };
    check();
  });
}

const PEER = /^(127\.0\.0\.1|\[::1\]|\[::ffff:127\.0\.0\.1\]):\d+$/;

describe('connection log lines', () => {
  it('AMQP: opened and closed with protocol, peer, user, vhost; a refused login', async () => {
    const url = broker.urls.amqp!.replace('amqp://', 'amqp://guest:guest@');
    const conn = await amqplib.connect(url);
    const opened = await logged((l) => l.msg === 'connection opened' && l.protocol === 'amqp');
    expect(opened).toMatchObject({ level: 'info', user: 'guest', vhost: '/' });
    expect(opened.peer).toMatch(PEER);
    await conn.close();
    const closed = await logged((l) => l.msg === 'connection closed' && l.protocol === 'amqp');
    expect(closed).toMatchObject({ level: 'info', user: 'guest', vhost: '/', peer: opened.peer });

    await expect(amqplib.connect(url.replace('guest:guest', 'guest:wrong'))).rejects.toThrow(/ACCESS_REFUSED/);
    const refused = await logged((l) => l.msg === 'login refused' && l.user === 'guest');
    expect(refused).toMatchObject({ level: 'warn', reason: 'bad-credentials' });
    expect(refused.peer).toMatch(PEER);
  });

  it('STOMP: opened and closed, a refused login, a refused vhost', async () => {
    const { client } = await RawStomp.connected(broker);
    const opened = await logged((l) => l.msg === 'connection opened' && l.protocol === 'stomp');
    expect(opened).toMatchObject({ level: 'info', user: 'guest', vhost: '/' });
    expect(opened.peer).toMatch(PEER);
    client.close();
    expect(await logged((l) => l.msg === 'connection closed' && l.protocol === 'stomp')).toMatchObject({ user: 'guest', vhost: '/', peer: opened.peer });

    const bad = await RawStomp.open(broker);
    bad.send('CONNECT', { 'accept-version': '1.2', host: '/', login: 'guest', passcode: 'wrong' });
    await bad.frame('ERROR');
    expect(await logged((l) => l.msg === 'login refused' && l.protocol === 'stomp')).toMatchObject({ level: 'warn', user: 'guest', reason: 'bad-credentials' });

    const badHost = await RawStomp.open(broker);
    badHost.send('CONNECT', { 'accept-version': '1.2', host: 'localhost', login: 'guest', passcode: 'guest' });
    await badHost.frame('ERROR');
    expect(await logged((l) => l.msg === 'login refused: no such vhost' && l.protocol === 'stomp')).toMatchObject({ user: 'guest', vhost: 'localhost' });
  });

  it('text format: one readable line, RabbitMQ-like', () => {
    const out: string[] = [];
    createLogger('info', (l) => out.push(l), { conn: 'amqp-1' }, 'text').info('connection opened', { protocol: 'amqp', peer: '127.0.0.1:5000', user: 'guest', vhost: '/', note: 'two words' });
    expect(out[0]).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} \[info\] connection opened conn=amqp-1 protocol=amqp peer=127\.0\.0\.1:5000 user=guest vhost=\/ note="two words"$/);
  });
});
