import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startBroker } from '../../src/index.js';
import { FaultyFs } from '../helpers/faulty-fs.js';
import { RawStomp } from '../helpers/stomp.js';

/**
 * review-s17-2 F6d: a STOMP connection that closes behind a durable wait (a DISCONNECT, and in the ActiveMQ
 * dialect a closing refusal answered in frame order) put its close into that wait; when the store's write
 * finally fails the waiters are dropped, so the socket stayed open and LocalMQ.stop() waited for it for ever
 * (old code: `still open after 3 s`, `stop() still waiting after 5 s`). The reviewer's repro and checked fix.
 */
const enospc = () => Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, syscall: 'write' });

describe('STOMP: closing behind a durable wait whose write fails', () => {
  for (const last of ['DISCONNECT\nreceipt:d3\n\n\0', 'FROB\nreceipt:e3\n\n\0']) {
    it(`${last.split('\n')[0]} behind a persistent SEND: the socket closes and stop() returns`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'localmq-stomp-closing-fail-'));
      const fs = new FaultyFs();
      const broker = await startBroker({ engine: 'activemq', ports: { stomp: 0 }, dataDir: dir, journal: { fs, retryDelayMs: 20, giveUpMs: 300 } });
      try {
        const { client } = await RawStomp.connected(broker, { 'accept-version': '1.2' });
        client.send('SEND', { destination: '/queue/df', persistent: 'true', receipt: 'r0' }, 'zero');
        await client.receipt('r0');
        fs.failWrites = enospc();
        client.write(Buffer.from(`SEND\ndestination:/queue/df\npersistent:true\nreceipt:s1\n\none\0${last}`));
        // giveUpMs 300: the store gives the write up well within 3 s
        const closed = await Promise.race([client.whenClosed().then(() => 'closed'), new Promise((r) => setTimeout(() => r('still open after 3 s'), 3000))]);
        fs.failWrites = null;
        const stopped = await Promise.race([broker.stop().then(() => 'stopped'), new Promise((r) => setTimeout(() => r('stop() still waiting after 5 s'), 5000))]);
        client.close();
        expect({ closed, stopped }).toEqual({ closed: 'closed', stopped: 'stopped' });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }, 15000);
  }
});
