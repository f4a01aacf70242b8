import type http from 'node:http';
import type { Delivery } from '../../core/consumer.js';
import type { Queue } from '../../core/queues/queue.js';
import type { Session } from '../../core/session.js';
import { SLICE_MS, type SlicedTask, type SlicedWork } from '../../core/sliced-work.js';
import type { VHost } from '../../core/vhost.js';
import type { ManagementBackend } from '../backend.js';
import { JSON_HEADERS, sendBrokerError, sendError } from './http-util.js';
import { propertiesJson } from './shapes.js';

export const ACK_MODES = ['ack_requeue_true', 'ack_requeue_false', 'reject_requeue_true', 'reject_requeue_false'] as const;
export type AckMode = (typeof ACK_MODES)[number];

/** how the messages taken are settled at the end (rabbit_mgmt_wm_queue_get maybe_reject_or_nack); none for ack_requeue_false (taken with no_ack) */
const SETTLE: Record<AckMode, 'release' | 'requeue' | 'discard' | undefined> = {
  // basic.nack requeue=true
  ack_requeue_true: 'release',
  ack_requeue_false: undefined,
  // basic.reject requeue=true / false
  reject_requeue_true: 'requeue',
  reject_requeue_false: 'discard',
};

export interface GetRequest {
  ackmode: AckMode;
  count: number;
  encoding: 'auto' | 'base64';
  truncate: number | undefined;
}

/**
 * POST /api/queues/{vhost}/{name}/get, as rabbit_mgmt_wm_queue_get: up to `count` basic.gets
 * over a session of its own, then every message taken is settled as the ack mode says (all
 * at the end: requeued ones would be got again), and the answer is the JSON array of them.
 *
 * A get of a million (the console asks for what its user types) is done in slices on the
 * broker's bulk work (SlicedWork) with other clients served in between, and the array is
 * written as it is made (chunked): never one synchronous pass over the million, nor a
 * million-message string in memory (the writing waits for the HTTP client to take what was
 * written). Errors before the first message (the queue gone, an exclusive queue of another
 * connection) are the usual error answers; the answer ends once the messages are settled, as
 * RabbitMQ answers after its rejects. Should the queue go away midway, the array holds what
 * was taken. Messages on their way back to the queue (a closed channel's) are back before a
 * get takes: it waits for them (Queue.whenReturned), at its start and between its slices, and
 * then takes from the queue it waited on (404 if it was deleted meanwhile), never from another
 * declared under its name since.
 */
export async function getMessages(b: ManagementBackend, vhost: VHost, queue: Queue, req: GetRequest, res: http.ServerResponse): Promise<void> {
  // messages on their way back (a closed channel's million unacked) are back first: the get waits its turn
  await new Promise<void>((resolve) => queue.whenReturned(resolve));
  // the HTTP client gave up meanwhile: take nothing (an ack_requeue_false get would settle
  // messages answered to nobody; SlicedGet's 'close' listener comes too late to see it: review-s10-3 #3)
  if (res.destroyed) return;
  // deleted meanwhile: not found, as if asked after the delete (one declared under its name since
  // is another queue, whose messages this get never waited for)
  if (queue.deleted) return sendError(res, 404, 'not_found', 'queue_not_found');
  // no cap of unacked deliveries: the get settles all it took before it answers, holding nothing
  // for a client, and returns `count` messages as RabbitMQ does (review-s13-1 C3)
  const session = b.core.openSession(vhost, {}, true);
  const get = new SlicedGet(session, queue, req, res, b.core.bulkWork);
  try {
    let first: string;
    try {
      first = get.take(performance.now() + SLICE_MS);
    } catch (err) {
      sendBrokerError(res, err);
      return;
    }
    if (!get.more) {
      // all in one slice: one body with its length, as before
      await settle(session, req.ackmode);
      const body = `[${first}]`;
      res.writeHead(200, { ...JSON_HEADERS, 'content-length': Buffer.byteLength(body) });
      res.end(body);
      return;
    }
    res.writeHead(200, JSON_HEADERS);
    await get.stream(`[${first}`);
    await settle(session, req.ackmode);
    res.end(']');
  } finally {
    // anything still unsettled goes back, as when RabbitMQ's channel closes
    session.close();
  }
}

/**
 * The gets after the first slice, a SlicedTask on the broker's bulk work: each step takes
 * messages until its deadline (one slice at most) and writes their JSON, then goes to the
 * back of the bulk work; once the HTTP client has more written than it took, the task leaves
 * the bulk work and comes back when the response drains (or closes), so it never holds up
 * the broker's other bulk work, whether its client keeps up or not.
 */
class SlicedGet implements SlicedTask {
  private taken = 0;
  /** the queue had no more (or went away) */
  private gone = false;
  /** the HTTP client went away before the answer ended */
  private clientGone = false;
  /** stream()'s promise: resolved once nothing more is taken */
  private ended: (() => void) | undefined;
  /** ack_requeue_false: what is taken is settled as it is taken */
  private readonly noAck: boolean;
  /**
   * its turn just came (the first slice, or the first after a wait for messages on their way
   * back): it takes from the queue as it is, as a get asked then would; other slices stop where
   * the head waits for a requeue that started since (Queue.headHeldBack)
   */
  private turnCame = true;

  constructor(
    private readonly session: Session,
    private readonly queue: Queue,
    private readonly req: GetRequest,
    private readonly res: http.ServerResponse,
    private readonly work: SlicedWork,
  ) {
    this.noAck = req.ackmode === 'ack_requeue_false';
    res.once('close', () => (this.clientGone = !res.writableFinished));
  }

  get more(): boolean {
    return this.taken < this.req.count && !this.gone && !this.clientGone;
  }

  /** takes messages until `deadline`; returns their JSON, comma-separated, or throws the get's BrokerError */
  take(deadline: number): string {
    let json = '';
    const turnCame = this.turnCame;
    this.turnCame = false;
    while (this.taken < this.req.count && !this.gone) {
      if (!turnCame && this.queue.headHeldBack()) break;
      const got = this.session.getFrom(this.queue, this.noAck);
      if (!got) {
        this.gone = true;
        break;
      }
      json += (this.taken++ > 0 ? ',' : '') + messageJson(got.delivery, got.messageCount, this.req);
      if ((this.taken & 7) === 0 && performance.now() >= deadline) break;
    }
    return json;
  }

  /** writes `head`, then takes and writes the rest in slices; resolves once nothing more is taken */
  stream(head: string): Promise<void> {
    return new Promise((resolve) => {
      this.ended = resolve;
      this.written(this.res.write(head));
    });
  }

  step(deadline: number): boolean {
    if (!this.more) return this.end();
    if (!this.turnCame && !this.queue.deleted && this.queue.headHeldBack()) {
      // messages on their way back (another channel closed meanwhile) may come back ahead of the
      // head: leave the bulk work, go on once those in flight now are back (not later ones). A
      // requeue whose messages are all behind the head does not hold the get (it waited for
      // every one in flight at each slice: a steady stream of them held it until the stream stopped)
      this.queue.whenReturned(() => {
        this.turnCame = true;
        this.work.add(this);
      });
      return true;
    }
    let json = '';
    try {
      // one slice's worth at most, also when the broker stops (SlicedWork.finish gives no deadline)
      json = this.take(Math.min(deadline, performance.now() + SLICE_MS));
    } catch {
      // the queue went away midway (or the session was refused): the array holds what was taken
      this.gone = true;
    }
    const ok = json ? this.res.write(json) : true;
    if (!this.more) return this.end();
    this.written(ok);
    return true;
  }

  /**
   * after a write: back at the tail of the bulk work (what was queued meanwhile — a purge's
   * settling, a dead-lettering — goes first: the get never holds the head), or once the
   * client took what was written. SlicedWork.finish thus stops once the client's buffer is full.
   */
  private written(ok: boolean): void {
    if (ok) {
      this.work.add(this);
      return;
    }
    const res = this.res;
    const resume = () => {
      res.off('drain', resume);
      res.off('close', resume);
      this.work.add(this);
    };
    res.on('drain', resume);
    res.on('close', resume);
  }

  private end(): true {
    this.ended?.();
    this.ended = undefined;
    return true;
  }
}

/** what rabbit_mgmt_wm_queue_get:basic_get answers for one message, in its order */
function messageJson(delivery: Delivery, messageCount: number, req: GetRequest): string {
  const m = delivery.message;
  const body = req.truncate !== undefined && m.body.length > req.truncate ? m.body.subarray(0, req.truncate) : m.body;
  const text = req.encoding === 'auto' ? utf8OrUndefined(body) : undefined;
  return JSON.stringify({
    payload_bytes: m.body.length,
    redelivered: delivery.redelivered,
    exchange: m.exchange,
    routing_key: m.routingKey,
    message_count: messageCount,
    properties: propertiesJson(m.properties),
    payload: text ?? body.toString('base64'),
    payload_encoding: text !== undefined ? 'string' : 'base64',
  });
}

function settle(session: Session, ackmode: AckMode): Promise<void> {
  const how = SETTLE[ackmode];
  return how ? session.settleOutstanding(how) : Promise.resolve();
}

const decoder = new TextDecoder('utf-8', { fatal: true });

function utf8OrUndefined(buf: Buffer): string | undefined {
  try {
    return decoder.decode(buf);
  } catch {
    return undefined;
  }
}
