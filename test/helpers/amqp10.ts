import type { LocalMQ } from '../../src/index.js';
import { connect } from './amqp.js';
import rhea, { type Connection, type ConnectionOptions, type Delivery, type EventContext, type Message, type Receiver, type ReceiverOptions, type Sender, type SenderOptions } from 'rhea';

/**
 * rhea (the AMQP 1.0 client for Node) wrapped in promises for tests: open a connection,
 * attach senders and receivers, send and await the outcome, collect messages.
 */
export async function rheaConnect(port: number, options: Partial<ConnectionOptions> = {}): Promise<Connection> {
  const container = rhea.create_container({ id: `test-${Math.random().toString(36).slice(2, 8)}` });
  const conn = container.connect({ host: '127.0.0.1', port, username: 'guest', password: 'guest', reconnect: false, ...options } as ConnectionOptions);
  return new Promise((resolve, reject) => {
    conn.once('connection_open', () => resolve(conn));
    conn.once('connection_error', (ctx: EventContext) => reject(new Error(`connection error: ${ctx.connection.error?.toString() ?? 'unknown'}`)));
    conn.once('disconnected', (ctx: EventContext) => reject(ctx.error ?? new Error('disconnected before open')));
  });
}

/** connect expecting a refusal: resolves with the error's condition or message */
export function rheaRefusal(port: number, options: Record<string, unknown> = {}): Promise<string> {
  const container = rhea.create_container();
  const conn = container.connect({ host: '127.0.0.1', port, username: 'guest', password: 'guest', reconnect: false, ...options } as ConnectionOptions);
  return new Promise((resolve) => {
    conn.once('connection_error', (ctx: EventContext) => resolve(String((ctx.connection.error as { condition?: string })?.condition ?? ctx.connection.error)));
    conn.once('disconnected', (ctx: EventContext) => resolve(String(ctx.error?.message ?? 'disconnected')));
  });
}

export function rheaClose(conn: Connection): Promise<void> {
  if (!conn.is_open()) return Promise.resolve();
  return new Promise((resolve) => {
    conn.once('connection_close', () => resolve());
    conn.once('disconnected', () => resolve());
    conn.close();
  });
}

export function openSender(conn: Connection, options: SenderOptions | string): Promise<Sender> {
  const s = conn.open_sender(options);
  return settleOpen(s, 'sender');
}

type Received = { message: Message; delivery: Delivery };
/** what each receiver got that no receiveN has taken yet: messages may arrive before a test asks */
const inbox = new WeakMap<Receiver, { queue: Received[]; wake?: () => void }>();

export function openReceiver(conn: Connection, options: ReceiverOptions | string): Promise<Receiver> {
  const r = conn.open_receiver(options);
  const box: { queue: Received[]; wake?: () => void } = { queue: [] };
  inbox.set(r, box);
  r.on('message', (ctx: EventContext) => {
    box.queue.push({ message: ctx.message!, delivery: ctx.delivery! });
    box.wake?.();
  });
  return settleOpen(r, 'receiver');
}

/**
 * A refused link is an attach then a detach with the error (part 2.6.3): wait past the
 * attach for the detach that may follow in the same read.
 */
function settleOpen<T extends Sender | Receiver>(link: T, kind: 'sender' | 'receiver'): Promise<T> {
  return new Promise((resolve, reject) => {
    let failed = false;
    link.once(`${kind}_error`, (ctx: EventContext) => {
      failed = true;
      reject(linkError(ctx));
    });
    link.once(`${kind}_open`, () => setImmediate(() => failed || resolve(link)));
  });
}

export function linkError(ctx: EventContext): Error & { condition?: string } {
  const e = (ctx.receiver ?? ctx.sender)?.error as { condition?: string; description?: string } | undefined;
  const err = new Error(`${e?.condition ?? 'link error'}: ${e?.description ?? ''}`) as Error & { condition?: string };
  err.condition = e?.condition;
  return err;
}

/** send one message and resolve with the outcome's name once it is settled */
export function sendAwait(sender: Sender, message: Message): Promise<{ outcome: string; delivery: Delivery; error?: { condition?: string; description?: string } }> {
  return new Promise((resolve) => {
    const go = () => {
      const delivery = sender.send(message);
      const done = (outcome: string) => (ctx: EventContext) => {
        if (ctx.delivery !== delivery) return;
        sender.removeListener('accepted', onAccepted);
        sender.removeListener('released', onReleased);
        sender.removeListener('rejected', onRejected);
        sender.removeListener('modified', onModified);
        const state = (ctx.delivery as unknown as { remote_state?: { error?: { condition?: string; description?: string } } }).remote_state;
        resolve({ outcome, delivery, error: state?.error });
      };
      const onAccepted = done('accepted');
      const onReleased = done('released');
      const onRejected = done('rejected');
      const onModified = done('modified');
      sender.on('accepted', onAccepted);
      sender.on('released', onReleased);
      sender.on('rejected', onRejected);
      sender.on('modified', onModified);
    };
    if (sender.sendable()) go();
    else sender.once('sendable', go);
  });
}

/** collect `n` messages from a receiver (its own credit settings apply) */
export function receiveN(receiver: Receiver, n: number, timeoutMs = 5000): Promise<Received[]> {
  const box = inbox.get(receiver)!;
  return new Promise((resolve, reject) => {
    const check = () => {
      if (box.queue.length < n) return false;
      clearTimeout(timer);
      box.wake = undefined;
      resolve(box.queue.splice(0, n));
      return true;
    };
    const timer = setTimeout(() => {
      box.wake = undefined;
      reject(new Error(`received ${box.queue.length} of ${n} messages within ${timeoutMs} ms`));
    }, timeoutMs);
    if (!check()) box.wake = check;
  });
}

/** messages received so far and not taken */
export function pending(receiver: Receiver): number {
  return inbox.get(receiver)?.queue.length ?? 0;
}

/** the next event of a name on an emitter */
export function once<T = EventContext>(emitter: { once(event: string, fn: (x: T) => void): unknown }, event: string): Promise<T> {
  return new Promise((resolve) => emitter.once(event, resolve));
}

/** a durable queue declared over AMQP 0-9-1 (RabbitMQ 4's v2 addresses need it to exist) */
export async function declareQueue(broker: LocalMQ, name: string, args: Record<string, unknown> = {}): Promise<void> {
  const conn = await connect(broker);
  const ch = await conn.createChannel();
  await ch.assertQueue(name, { durable: true, arguments: args });
  await conn.close();
}
