/**
 * A client process of bench/mqtt-e2e.ts --split: its own mqtt.js client(s), driven by the
 * bench process over the IPC channel (bench/lib/mqtt-split.ts says what each message does).
 * Started by the bench, never by hand; it exits when the bench goes.
 */
import { deadline, uniqueName } from './e2e-runner.js';
import { nowNs } from './e2e-results.js';
import { countMessages, openMqtt, publishWindowed } from './mqtt-scenarios.js';
import type { TrackedMqttClient } from './mqtt-scenarios.js';
import { RawMqttClient } from './mqtt-raw-client.js';
import type { SplitCommand, SplitReply } from './mqtt-split.js';

let clients: TrackedMqttClient[] = [];
/** the bare clients of a --raw run (bench/lib/mqtt-raw-client.ts) */
let raws: RawMqttClient[] = [];
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
  const bare = raws;
  raws = [];
  for (const c of bare) await c.close();
}

function clientId(label: string): string {
  return uniqueName(`bench-${label}`).replace(/\./g, '-');
}

/** `clients` bare subscribers of `topic`: ready when all are SUBACKed; resolves with the time the last of `count` each arrived */
async function subscribeRaw(cmd: Extract<SplitCommand, { op: 'subscribe' }>, limit: Promise<never>): Promise<{ all: Promise<bigint> }> {
  for (let i = 0; i < cmd.clients; i++) {
    const s = await Promise.race([RawMqttClient.open(cmd.url, clientId(`${cmd.label}-${i}`), cmd.version), limit]);
    raws.push(s);
    const granted = await Promise.race([s.subscribe(cmd.topic, cmd.qos), limit]);
    if (granted !== cmd.qos) throw new Error(`broker granted QoS ${granted} for a QoS ${cmd.qos} subscription`);
  }
  const ends = Promise.all(raws.map((c) => c.countPublishes(cmd.count)));
  return { all: ends.then((e) => e.reduce((a, b) => (b > a ? b : a), 0n)) };
}

async function handle(cmd: SplitCommand): Promise<void> {
  switch (cmd.op) {
    case 'subscribe': {
      // as the single-process bench does before each measured run: start from a collected heap
      (globalThis as { gc?: () => void }).gc?.();
      const limit = deadline(cmd.timeoutMs, `subscriber ${cmd.label}`);
      try {
        let all: Promise<bigint>;
        if (cmd.raw) ({ all } = await subscribeRaw(cmd, limit.promise));
        else {
          for (let i = 0; i < cmd.clients; i++) {
            const s = await openMqtt(cmd.url, `${cmd.label}-${i}`, cmd.version);
            clients.push(s);
            const granted = await Promise.race([s.client.subscribeAsync(cmd.topic, { qos: cmd.qos }), s.failed, limit.promise]);
            if (granted[0]?.qos !== cmd.qos) throw new Error(`broker granted QoS ${granted[0]?.qos} for a QoS ${cmd.qos} subscription`);
          }
          all = countMessages(
            clients.map((c) => c.client),
            cmd.clients * cmd.count,
          );
        }
        const cpu0 = process.cpuUsage();
        reply({ op: 'ready' });
        const end = await Promise.race([all, limit.promise, cancelled, ...clients.map((c) => c.failed), ...raws.map((c) => c.failed)]);
        reply({ op: 'received', end: end.toString(), cpuMicros: cpuMicros(cpu0) });
      } finally {
        limit.cancel();
      }
      return;
    }
    case 'connect': {
      (globalThis as { gc?: () => void }).gc?.();
      if (cmd.raw) raws.push(await RawMqttClient.open(cmd.url, clientId(cmd.label), cmd.version));
      else clients.push(await openMqtt(cmd.url, cmd.label, cmd.version));
      reply({ op: 'ready' });
      return;
    }
    case 'publish': {
      const pub = clients[0];
      const raw = raws[0];
      if (!pub && !raw) throw new Error('publish before connect');
      const limit = deadline(cmd.timeoutMs, 'publisher');
      try {
        const body = Buffer.alloc(cmd.size, 0x61);
        const p = { topic: cmd.topic, count: cmd.count, body, qos: cmd.qos, window: cmd.window };
        publishStart = { ns: nowNs(), cpu: process.cpuUsage() };
        const publishedAt = raw ? await raw.publish(p, [limit.promise, cancelled]) : await publishWindowed(pub!.client, p, [pub!.failed, limit.promise, cancelled]);
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
