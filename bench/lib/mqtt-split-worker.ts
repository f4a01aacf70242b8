/**
 * A client process of bench/mqtt-e2e.ts --split: its own mqtt.js client(s), driven by the
 * bench process over the IPC channel (bench/lib/mqtt-split.ts says what each message does).
 * Started by the bench, never by hand; it exits when the bench goes.
 */
import { deadline } from './e2e-runner.js';
import { nowNs } from './e2e-results.js';
import { countMessages, openMqtt, publishWindowed } from './mqtt-scenarios.js';
import type { TrackedMqttClient } from './mqtt-scenarios.js';
import type { SplitCommand, SplitReply } from './mqtt-split.js';

let clients: TrackedMqttClient[] = [];
/** the publisher's start of its run and CPU then: its share is reported at `close` (PUBACKs keep coming after the last PUBLISH) */
let publishStart: { ns: bigint; cpu: NodeJS.CpuUsage } | undefined;

/** `close` ends a run that is still waiting (the bench gave up on it): its wait rejects with this, and nothing is replied */
class Cancelled extends Error {}
let cancel: (err: Cancelled) => void = () => undefined;
let cancelled = newCancellation();

function newCancellation(): Promise<never> {
  const p = new Promise<never>((_, reject) => (cancel = reject));
  p.catch(() => undefined);
  return p;
}

function reply(r: SplitReply): void {
  process.send!(r);
}

function cpuMicros(since: NodeJS.CpuUsage): number {
  const u = process.cpuUsage(since);
  return u.user + u.system;
}

async function closeAll(): Promise<void> {
  const open = clients;
  clients = [];
  for (const c of open) await c.close();
}

async function handle(cmd: SplitCommand): Promise<void> {
  switch (cmd.op) {
    case 'subscribe': {
      // as the single-process bench does before each measured run: start from a collected heap
      (globalThis as { gc?: () => void }).gc?.();
      const limit = deadline(cmd.timeoutMs, `subscriber ${cmd.label}`);
      try {
        for (let i = 0; i < cmd.clients; i++) {
          const s = await openMqtt(cmd.url, `${cmd.label}-${i}`, cmd.version);
          clients.push(s);
          const granted = await Promise.race([s.client.subscribeAsync(cmd.topic, { qos: cmd.qos }), s.failed, limit.promise]);
          if (granted[0]?.qos !== cmd.qos) throw new Error(`broker granted QoS ${granted[0]?.qos} for a QoS ${cmd.qos} subscription`);
        }
        const all = countMessages(
          clients.map((c) => c.client),
          cmd.clients * cmd.count,
        );
        const cpu0 = process.cpuUsage();
        reply({ op: 'ready' });
        const end = await Promise.race([all, limit.promise, cancelled, ...clients.map((c) => c.failed)]);
        reply({ op: 'received', end: end.toString(), cpuMicros: cpuMicros(cpu0) });
      } finally {
        limit.cancel();
      }
      return;
    }
    case 'connect': {
      (globalThis as { gc?: () => void }).gc?.();
      clients.push(await openMqtt(cmd.url, cmd.label, cmd.version));
      reply({ op: 'ready' });
      return;
    }
    case 'publish': {
      const pub = clients[0];
      if (!pub) throw new Error('publish before connect');
      const limit = deadline(cmd.timeoutMs, 'publisher');
      try {
        const body = Buffer.alloc(cmd.size, 0x61);
        publishStart = { ns: nowNs(), cpu: process.cpuUsage() };
        const publishedAt = await publishWindowed(pub.client, { topic: cmd.topic, count: cmd.count, body, qos: cmd.qos, window: cmd.window }, [pub.failed, limit.promise, cancelled]);
        reply({ op: 'published', start: publishStart.ns.toString(), publishedAt: publishedAt.toString() });
      } finally {
        limit.cancel();
      }
      return;
    }
    case 'close': {
      const cpu = publishStart ? cpuMicros(publishStart.cpu) : undefined;
      publishStart = undefined;
      cancel(new Cancelled('closed by the bench'));
      cancelled = newCancellation();
      await closeAll();
      reply({ op: 'closed', cpuMicros: cpu });
      return;
    }
  }
}

process.on('message', (cmd: SplitCommand) => {
  handle(cmd).catch(async (err: unknown) => {
    if (err instanceof Cancelled) return;
    reply({ op: 'error', message: err instanceof Error ? err.message : String(err) });
    await closeAll().catch(() => undefined);
  });
});
process.on('disconnect', () => process.exit(0));
