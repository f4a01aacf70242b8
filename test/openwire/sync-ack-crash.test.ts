import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { spawnChildBroker, type ChildBroker } from '../helpers/child-broker.js';
import { jmsClasspath, jmsUnavailable } from '../helpers/jms.js';
import { RawStomp, getHeader } from '../helpers/stomp.js';

/**
 * A JMS client with synchronous acks (sendAcksAsync=false: acknowledge() waits for the broker's
 * Response) acknowledges m0…m9 of m0…m19; the broker is killed -9 at once, then started on its data.
 * ActiveMQ 5.17 (KahaDB; /tmp/s15-fidelity/AckKillProbe.java + ackkill.sh, killed 8-69 ms after the
 * last answer, 4 runs): m10…m19 left every time. LocalMQ answered before the store had the acks
 * (written lazily, up to 100 ms later): m0…m9 or some of them came back in 3 of 4 runs (killed
 * 15-22 ms after; all 10 once). Now the answer waits for the store.
 */
const unavailable = jmsUnavailable();

const dirs: string[] = [];
const children: ChildBroker[] = [];
afterEach(async () => {
  for (const c of children.splice(0)) await c.kill();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe.skipIf(unavailable !== undefined)(`OpenWire synchronous acks across kill -9 (ActiveMQ 5.17)${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {

  /** the helper's process and a promise of its first line starting with `prefix` */
  function jms(args: string[], prefix: string): { line: Promise<string>; kill: () => void } {
    const p = spawn('java', ['-Xshare:auto', '-XX:TieredStopAtLevel=1', '-cp', jmsClasspath('JmsSyncAcks'), 'JmsSyncAcks', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d) => (err += d));
    const line = new Promise<string>((resolve, reject) => {
      createInterface({ input: p.stdout }).on('line', (l) => {
        if (l.startsWith(prefix)) resolve(l);
      });
      p.on('exit', (code) => reject(new Error(`JmsSyncAcks ${args[0]} exited ${code} before ${prefix}: ${err}`)));
    });
    return { line, kill: () => p.kill('SIGKILL') };
  }

  it('what was acknowledged before the kill stays acknowledged', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'localmq-sync-ack-'));
    dirs.push(dir);
    const broker = await spawnChildBroker(dir, { engine: 'activemq' });
    children.push(broker);
    const hold = jms(['hold', broker.openwireUrl, 'sync.acks'], 'ACKED');
    await hold.line;
    await broker.kill();
    hold.kill();
    const again = await spawnChildBroker(dir, { engine: 'activemq' });
    children.push(again);
    const left = await jms(['drain', again.openwireUrl, 'sync.acks'], 'LEFT').line;
    expect(left).toBe('LEFT m10 m11 m12 m13 m14 m15 m16 m17 m18 m19');
  }, 120_000);
});

/**
 * The same over STOMP (ActiveMQ dialect): ack:client-individual, m0…m9 ACKed, the last ACK with a
 * receipt; the broker killed -9 as the RECEIPT arrives. ActiveMQ 5.17 (/tmp/s15-fidelity/stomp-ackkill.mjs
 * + stomp-ackkill.sh, killed 18-114 ms after, 3 runs): m10…m19 left. LocalMQ sent the receipt before the
 * store had the acks: m0…m19 all left in 3 of 3 runs. Now an ACK's receipt waits for the store.
 */
describe('STOMP ACK receipts across kill -9 (ActiveMQ 5.17)', () => {

  it('what was ACKed before a RECEIPT stays acknowledged', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'localmq-stomp-ack-'));
    dirs.push(dir);
    const broker = await spawnChildBroker(dir, { engine: 'activemq' });
    children.push(broker);
    const { client } = await RawStomp.connected(broker.stompPort);
    client.useVersion('1.2');
    for (let i = 0; i < 20; i++) client.send('SEND', { destination: '/queue/stomp.acks', persistent: 'true', ...(i === 19 ? { receipt: 'sent' } : {}) }, `m${i}`);
    await client.receipt('sent');
    client.send('SUBSCRIBE', { destination: '/queue/stomp.acks', id: 's', ack: 'client-individual', 'activemq.prefetchSize': '10' });
    const got = [];
    for (let i = 0; i < 10; i++) got.push(await client.frame('MESSAGE'));
    for (const [i, m] of got.entries()) client.send('ACK', { id: getHeader(m, 'ack')!, ...(i === 9 ? { receipt: 'acked' } : {}) });
    await client.receipt('acked');
    await broker.kill();
    client.close();
    const again = await spawnChildBroker(dir, { engine: 'activemq' });
    children.push(again);
    const { client: drain } = await RawStomp.connected(again.stompPort);
    drain.useVersion('1.2');
    drain.send('SUBSCRIBE', { destination: '/queue/stomp.acks', id: 's', ack: 'auto' });
    const left = [];
    for (let i = 0; i < 10; i++) left.push((await drain.frame('MESSAGE')).body.toString());
    expect(left).toEqual(['m10', 'm11', 'm12', 'm13', 'm14', 'm15', 'm16', 'm17', 'm18', 'm19']);
    // and nothing more: a round trip's answer comes after anything the queue still had
    drain.send('SUBSCRIBE', { destination: '/queue/stomp.acks.empty', id: 'rt', receipt: 'rt' });
    await drain.receipt('rt');
    expect(drain.frames.filter((f) => f.command === 'MESSAGE').map((f) => f.body.toString())).toEqual([]);
    drain.close();
  }, 120_000);
});
