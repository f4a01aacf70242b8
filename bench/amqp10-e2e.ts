/**
 * AMQP 1.0 producer → consumer throughput with rhea, against one or more brokers in one run
 * (LocalMQ, RabbitMQ 3.10 with rabbitmq_amqp1_0, ...): `count` messages of `size` bytes
 * through one queue, the receiver attached first, both on their own connection.
 *
 *   settled:   the sender sends pre-settled (snd-settle-mode settled), the broker delivers pre-settled
 *              (rhea still "accepts" them locally, which frees its session window)
 *   unsettled: the sender waits for each outcome (accepted), the receiver accepts each message
 *
 * Each broker runs each scenario `rounds` times, alternating the order; the best round counts.
 *
 *   npx tsx bench/amqp10-e2e.ts --url amqp://guest:guest@127.0.0.1:5672 [--url amqp://…:5673]
 *        [--count 100000] [--size 1024] [--rounds 3] [--address /queue/bench-amqp10]
 */
import rhea, { type Connection, type EventContext } from 'rhea';

interface Options {
  urls: string[];
  count: number;
  size: number;
  rounds: number;
  address: string;
}

function parse(argv: string[]): Options {
  const o: Options = { urls: [], count: 100_000, size: 1024, rounds: 3, address: '/queue/bench-amqp10' };
  for (let i = 0; i < argv.length; i++) {
    const v = argv[i + 1];
    switch (argv[i]) {
      case '--url':
        o.urls.push(v!);
        i++;
        break;
      case '--count':
        o.count = Number(v);
        i++;
        break;
      case '--size':
        o.size = Number(v);
        i++;
        break;
      case '--rounds':
        o.rounds = Number(v);
        i++;
        break;
      case '--address':
        o.address = v!;
        i++;
        break;
    }
  }
  if (!o.urls.length) throw new Error('usage: amqp10-e2e.ts --url amqp://user:pass@host:port [--url …] [--count N] [--size B] [--rounds R]');
  return o;
}

function open(url: string): Promise<Connection> {
  const u = new URL(url);
  const container = rhea.create_container();
  const conn = container.connect({
    host: u.hostname,
    port: Number(u.port || 5672),
    username: decodeURIComponent(u.username || 'guest'),
    password: decodeURIComponent(u.password || 'guest'),
    reconnect: false,
  });
  return new Promise((resolve, reject) => {
    conn.once('connection_open', () => resolve(conn));
    conn.once('disconnected', (ctx: EventContext) => reject(ctx.error ?? new Error('disconnected')));
  });
}

type Scenario = 'settled' | 'unsettled';

/** messages per second for one run of a scenario */
async function run(url: string, scenario: Scenario, o: Options, round: number): Promise<number> {
  const address = `${o.address}-${scenario}-${round}-${Date.now()}`;
  const consumerConn = await open(url);
  const producerConn = await open(url);
  const settled = scenario === 'settled';
  const body = rhea.message.data_section(Buffer.alloc(o.size, 0x61));
  try {
    let received = 0;
    let start = 0;
    const done = new Promise<number>((resolve) => {
      const rx = consumerConn.open_receiver({ source: { address }, credit_window: 500, autoaccept: true, snd_settle_mode: settled ? 1 : 0 } as never);
      rx.on('message', () => {
        if (++received === o.count) resolve(performance.now());
      });
      rx.once('receiver_open', () => startSending());
    });
    const startSending = () => {
      const sender = producerConn.open_sender({ target: { address }, snd_settle_mode: settled ? 1 : 0 } as never);
      let sent = 0;
      const pump = () => {
        if (sent === 0) start = performance.now();
        while (sent < o.count && sender.sendable()) {
          sender.send({ body, durable: false });
          sent++;
        }
      };
      sender.on('sendable', pump);
    };
    const end = await done;
    return (o.count / (end - start)) * 1000;
  } finally {
    consumerConn.close();
    producerConn.close();
  }
}

async function main(): Promise<void> {
  const o = parse(process.argv.slice(2));
  console.log(`AMQP 1.0 (rhea) producer -> consumer: ${o.count} x ${o.size} B, best of ${o.rounds} rounds`);
  const best = new Map<string, number>();
  for (let round = 0; round < o.rounds; round++) {
    const order = round % 2 === 0 ? o.urls : [...o.urls].reverse();
    for (const scenario of ['settled', 'unsettled'] as const) {
      for (const url of order) {
        const rate = await run(url, scenario, o, round);
        const key = `${scenario} ${url}`;
        best.set(key, Math.max(best.get(key) ?? 0, rate));
        console.log(`  round ${round + 1} ${scenario.padEnd(9)} ${new URL(url).host.padEnd(22)} ${Math.round(rate).toLocaleString('en')} msg/s`);
      }
    }
  }
  console.log('best:');
  for (const scenario of ['settled', 'unsettled'] as const) {
    const rates = o.urls.map((u) => best.get(`${scenario} ${u}`)!);
    const line = o.urls.map((u, i) => `${new URL(u).host} ${Math.round(rates[i]!).toLocaleString('en')} msg/s`).join('  |  ');
    const ratio = rates.length > 1 ? `  (first/second ${(rates[0]! / rates[1]!).toFixed(2)}x)` : '';
    console.log(`  ${scenario.padEnd(9)} ${line}${ratio}`);
  }
  process.exit(0);
}

void main();
