import type { Durability } from './durability.js';
import { isPersistent, type Message } from './message.js';

/** how a transaction's publishes enter the broker: the vhost's publish, or the adapter's around it */
export type TxPublish = (exchange: string, routingKey: string, message: Message) => number;

type TxOp =
  | { kind: 'publish'; exchange: string; routingKey: string; message: Message; routed: ((flags: number) => void) | undefined }
  | { kind: 'settle'; apply: () => void };

/**
 * A transaction of any protocol (AMQP tx.select, STOMP BEGIN, OpenWire and AMQP 1.0
 * transactions): publishes and acks are buffered as they arrive and applied together, in
 * order, at commit; a rollback forgets them. The commit is durable once the store has
 * written its persistent messages: `commit` says when.
 */
export class Transaction {
  private ops: TxOp[] = [];

  constructor(private readonly durability: Durability) {}

  /** work buffered so far */
  get size(): number {
    return this.ops.length;
  }

  /** a publish taken now, routed at commit; `routed` hears its outcome flags (AMQP's mandatory return) */
  publish(exchange: string, routingKey: string, message: Message, routed?: (flags: number) => void): void {
    this.ops.push({ kind: 'publish', exchange, routingKey, message, routed });
  }

  /** an ack, nack or reject taken now, applied at commit */
  settle(apply: () => void): void {
    this.ops.push({ kind: 'settle', apply });
  }

  /** an ack, nack or reject is buffered (the store writes what it settles at commit) */
  get settles(): boolean {
    return this.ops.some((op) => op.kind === 'settle');
  }

  /** forget everything buffered */
  rollback(): void {
    this.ops = [];
  }

  /**
   * Apply everything buffered, in order, and start afresh. Returns whether a persistent
   * message was published (the commit is durable only once the store has it). With
   * `durable`, runs it once the commit is on disk (at once when nothing persistent was
   * written, unless `settlesToo` and something was settled: ActiveMQ answers a commit of acks
   * once its store has them), or with the error when the write finally failed (Durability's
   * one policy); `alive` stops the wait when the client is gone.
   */
  commit(publish: TxPublish, durable?: (err?: Error) => void, alive: () => boolean = () => true, settlesToo = false): boolean {
    const waitsForSettles = settlesToo && this.settles;
    const ops = this.ops;
    this.ops = [];
    let persistent = false;
    for (const op of ops) {
      if (op.kind === 'publish') {
        const flags = publish(op.exchange, op.routingKey, op.message);
        op.routed?.(flags);
        persistent ||= isPersistent(op.message);
      } else op.apply();
    }
    if (durable) {
      if (persistent || waitsForSettles) this.durability.wait(durable, alive);
      else durable();
    }
    return persistent;
  }
}
