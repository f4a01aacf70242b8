import type http from 'node:http';
import type { Delivery } from '../../core/consumer.js';
import type { Queue } from '../../core/queues/queue.js';
import type { Session } from '../../core/session.js';
import { SLICE_MS } from '../../core/sliced-work.js';
import type { VHost } from '../../core/vhost.js';
import type { ManagementBackend } from '../backend.js';
import { JSON_HEADERS, sendBrokerError } from './http-util.js';
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
 * A get of a million (the console asks for what its user types) is done in slices of
 * SLICE_MS with other clients served in between, and the array is written as it is made
 * (chunked): never one synchronous pass over the million, nor a million-message string in
 * memory (the writing waits for the HTTP client to take what was written). Errors before
 * the first message (the queue gone, an exclusive queue of another connection) are the
 * usual error answers; the answer ends once the messages are settled, as RabbitMQ answers
 * after its rejects. Should the queue go away midway, the array holds what was taken.
 */
export async function getMessages(b: ManagementBackend, vhost: VHost, queue: Queue, req: GetRequest, res: http.ServerResponse): Promise<void> {
  const session = b.core.openSession(vhost, {});
  const noAck = req.ackmode === 'ack_requeue_false';
  let taken = 0;
  let gone = false;
  let clientGone = false;
  res.once('close', () => (clientGone = !res.writableFinished));
  /** takes messages for one slice; returns their JSON, comma-separated, or throws the get's BrokerError */
  const slice = (): string => {
    const deadline = performance.now() + SLICE_MS;
    let json = '';
    while (taken < req.count && !gone) {
      const got = session.get(queue.name, noAck);
      if (!got) {
        gone = true;
        break;
      }
      json += (taken++ > 0 ? ',' : '') + messageJson(got.delivery, got.messageCount, req);
      if ((taken & 7) === 0 && performance.now() >= deadline) break;
    }
    return json;
  };
  const more = () => taken < req.count && !gone && !clientGone;
  try {
    let first: string;
    try {
      first = slice();
    } catch (err) {
      sendBrokerError(res, err);
      return;
    }
    if (!more()) {
      // all in one slice: one body with its length, as before
      await settle(session, req.ackmode);
      const body = `[${first}]`;
      res.writeHead(200, { ...JSON_HEADERS, 'content-length': Buffer.byteLength(body) });
      res.end(body);
      return;
    }
    res.writeHead(200, JSON_HEADERS);
    let ok = res.write(`[${first}`);
    while (more()) {
      if (!ok) await drained(res);
      // also after a drain: a socket that takes each write at once emits it from process.nextTick,
      // and slices chained that way would never let the event loop turn
      await nextTurn();
      if (!more()) break;
      let json: string;
      try {
        json = slice();
      } catch {
        // the queue went away midway (or the session was refused): the array holds what was taken
        gone = true;
        break;
      }
      if (json) ok = res.write(json);
    }
    await settle(session, req.ackmode);
    res.end(']');
  } finally {
    // anything still unsettled goes back, as when RabbitMQ's channel closes
    session.close();
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

function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function drained(res: http.ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

const decoder = new TextDecoder('utf-8', { fatal: true });

function utf8OrUndefined(buf: Buffer): string | undefined {
  try {
    return decoder.decode(buf);
  } catch {
    return undefined;
  }
}
