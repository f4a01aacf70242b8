/**
 * Issue 18 point 4c: what one connection that reads fast and never acknowledges does to the
 * broker. On the built CLI (`npm run build` first), with a data dir:
 *   1. fill a durable classic queue with --count persistent messages of --body bytes (AMQP 0-9-1,
 *      confirms), paged out to the journal past the queue's in-memory threshold;
 *   2. one consumer takes them with acknowledgements and never acks: AMQP 0-9-1 (amqplib,
 *      basic.qos 0 = no prefetch limit, noAck false) or STOMP 1.2 (ack:client, no prefetch-count);
 *   3. the broker's RSS (VmRSS of its process) every 100 ms and the management API's mem_alarm
 *      every 500 ms, until every message was delivered, --read-seconds passed, or RSS reached
 *      --rss-cap (the run is stopped there: a broker left to grow would take the machine).
 * Extra CLI flags for the broker after `--` (e.g. `-- --max-unacked-per-connection 100000`).
 *
 *   bash /work/bench-lock.sh nice -n -20 bench/lib/in-own-autogroup.sh npx tsx bench/unacked-reader.ts \
 *     --port 29400 --protocol amqp|stomp [--count 1000000] [--body 1024] [--watermark 512MiB] \
 *     [--read-seconds 120] [--rss-cap 3GiB] [-- broker flags]
 *
 * Prints one JSON line: fill time and RSS after the fill, then for the read: messages delivered,
 * the highest RSS seen, RSS at the end, whether/when mem_alarm showed, and how the read ended.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync, mkdirSync } from 'node:fs';
import amqp from 'amqplib';
import { parseSize } from '../src/server/resource-limit.js';
import { StompBenchClient } from './lib/stomp-session.js';

function flag(name: string, dflt: string): string {
  const end = process.argv.indexOf('--');
  const args = end < 0 ? process.argv : process.argv.slice(0, end);
  const i = args.indexOf(`--${name}`);
  return i > 0 ? args[i + 1]! : dflt;
}
const base = Number(flag('port', '29400'));
const protocol = flag('protocol', 'amqp');
const count = Number(flag('count', '1000000'));
const bodySize = Number(flag('body', '1024'));
const watermark = flag('watermark', '512MiB');
const readSeconds = Number(flag('read-seconds', '120'));
const rssCapMiB = (parseSize(flag('rss-cap', '3GiB')) ?? 3 * 2 ** 30) / 1048576;
const brokerFlags = process.argv.includes('--') ? process.argv.slice(process.argv.indexOf('--') + 1) : [];
const work = `/tmp/localmq-unacked-reader-${base}`;
const queue = 'unacked-reader';

/** VmRSS of the broker; 0 once it is gone */
function rssMiB(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

/** the broker's last output (what it said if it died) */
let brokerOut = '';
let brokerExit: string | undefined;

async function startCli(): Promise<ChildProcess> {
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const args = ['dist/cli/main.js', 'start', '--data-dir', `${work}/data`, '--run-dir', work, '--log-level', 'warn', '--free-ports',
    '--amqp-port', String(base), '--http-port', String(base + 1), '--stomp-port', String(base + 2), '--memory-high-watermark', watermark, ...brokerFlags];
  const child = spawn('node', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  await new Promise<void>((resolve, reject) => {
    const onData = (d: Buffer) => {
      out += d.toString();
      brokerOut = out.slice(-4000);
      if (out.includes('is running')) resolve();
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`localmq exited (${code}): ${out}`)));
  });
  return child;
}

/** the management API's mem_alarm; undefined when it did not answer (the broker busy or gone) */
async function memAlarm(): Promise<boolean | undefined> {
  try {
    return await readMemAlarm();
  } catch {
    return undefined;
  }
}

async function readMemAlarm(): Promise<boolean> {
  const res = await fetch(`http://127.0.0.1:${base + 1}/api/nodes`, { headers: { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}` } });
  const nodes = (await res.json()) as { mem_alarm?: boolean }[];
  return nodes.some((n) => n.mem_alarm === true);
}

async function fill(): Promise<number> {
  const t0 = Date.now();
  const conn = await amqp.connect(`amqp://guest:guest@127.0.0.1:${base}`);
  const ch = await conn.createConfirmChannel();
  await ch.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': 'classic' } });
  const body = Buffer.alloc(bodySize, 'u');
  for (let i = 0; i < count; i++) {
    if (!ch.publish('', queue, body, { persistent: true })) await new Promise((r) => ch.once('drain', r));
    if ((i & 16383) === 16383) await ch.waitForConfirms();
  }
  await ch.waitForConfirms();
  const q = await ch.checkQueue(queue);
  if (q.messageCount !== count) throw new Error(`queued ${q.messageCount}, not ${count}`);
  await conn.close();
  return Date.now() - t0;
}

/** starts the never-acking reader; returns a counter of what it received and a close */
async function reader(): Promise<{ received: () => number; close: () => Promise<void> }> {
  let n = 0;
  if (protocol === 'amqp') {
    const conn = await amqp.connect(`amqp://guest:guest@127.0.0.1:${base}`);
    const ch = await conn.createChannel();
    await ch.prefetch(0);
    await ch.consume(queue, () => void n++, { noAck: false });
    return { received: () => n, close: () => conn.close().catch(() => undefined) };
  }
  if (protocol === 'stomp') {
    const client = await StompBenchClient.connect(`stomp://guest:guest@127.0.0.1:${base + 2}`, 'unacked reader');
    client.onMessage = () => void n++;
    await client.request('SUBSCRIBE', [['id', '1'], ['destination', `/amq/queue/${queue}`], ['ack', 'client']]);
    return { received: () => n, close: () => client.close().catch(() => undefined) };
  }
  throw new Error(`--protocol amqp|stomp, not ${protocol}`);
}

const broker = await startCli();
const pid = broker.pid!;
broker.on('exit', (code, signal) => (brokerExit = `exited code ${code} signal ${signal}`));
const result: Record<string, unknown> = { protocol, count, bodySize, watermark, brokerFlags: brokerFlags.join(' ') };
try {
  result['fillMs'] = await fill();
  await new Promise((r) => setTimeout(r, 2000));
  result['rssAfterFillMiB'] = Math.round(rssMiB(pid));
  result['alarmAfterFill'] = await memAlarm();
  const t0 = Date.now();
  const r = await reader();
  let maxRss = 0;
  let alarmAtMs: number | undefined;
  let alarmRss: number | undefined;
  let ended = 'read-seconds';
  let lastPoll = 0;
  let unanswered = 0;
  let lastCount = -1;
  let stillSince = Date.now();
  for (;;) {
    await new Promise((res) => setTimeout(res, 100));
    if (brokerExit !== undefined) { ended = `broker ${brokerExit}: ${brokerOut}`; break; }
    const rss = rssMiB(pid);
    if (rss > maxRss) maxRss = rss;
    const now = Date.now();
    if (alarmAtMs === undefined && now - lastPoll >= 500) {
      lastPoll = now;
      const alarm = await memAlarm();
      if (alarm === undefined) unanswered++;
      if (alarm === true) {
        alarmAtMs = now - t0;
        alarmRss = Math.round(rss);
      }
    }
    const got = r.received();
    if (got !== lastCount) {
      lastCount = got;
      stillSince = now;
    }
    if (got >= count) { ended = 'all delivered'; break; }
    if (rss >= rssCapMiB) { ended = `rss cap ${rssCapMiB} MiB`; break; }
    // nothing more for 3 s: the broker stopped delivering (a cap, or the read is done)
    if (now - stillSince >= 3000) { ended = 'deliveries stopped (3 s without one)'; break; }
    if (now - t0 >= readSeconds * 1000) break;
  }
  result['readMs'] = Date.now() - t0;
  // RSS may go on growing while the last deliveries are written out: 2 s more of samples
  for (let i = 0; i < 20 && ended !== `rss cap ${rssCapMiB} MiB`; i++) {
    await new Promise((res) => setTimeout(res, 100));
    maxRss = Math.max(maxRss, rssMiB(pid));
  }
  result['delivered'] = r.received();
  result['maxRssMiB'] = Math.round(maxRss);
  result['rssAtEndMiB'] = Math.round(rssMiB(pid));
  result['memAlarmDuringRead'] = alarmAtMs !== undefined ? { atMs: alarmAtMs, rssMiB: alarmRss } : false;
  result['alarmPollsUnanswered'] = unanswered;
  result['alarmAtEnd'] = await memAlarm();
  result['ended'] = ended;
  await r.close();
} finally {
  if (brokerExit === undefined) {
    const gone = new Promise((res) => broker.once('exit', res));
    broker.kill('SIGTERM');
    await gone;
  }
  rmSync(work, { recursive: true, force: true });
}
console.log(JSON.stringify(result));
