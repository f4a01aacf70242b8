import { createRequire } from 'node:module';
import rhea, { type Connection, type Delivery, type EventContext, type Sender } from 'rhea';

/**
 * AMQP 1.0 transactions (part 4) driven through rhea, which has no transaction API of its
 * own: a sender attached to a coordinator target, declare and discharge sent as amqp-value
 * bodies, and transactional-state dispositions through rhea's public delivery.update().
 * rhea does not know the declared (0x33) and transactional-state (0x34) states nor the
 * coordinator terminus (0x30): they are passed through as rhea decoded them rather than
 * logged as unrecognised.
 */
const require = createRequire(import.meta.url);
const rheaMessage = require('rhea/lib/message.js') as { unwrap_outcome: (o: unknown) => unknown };
const rheaTerminus = require('rhea/lib/terminus.js') as { unwrap: (o: unknown) => unknown };
const TXN_DESCRIPTORS = new Set([0x30, 0x33, 0x34]);
const descriptorOf = (o: unknown): number | undefined => {
  const d = (o as { descriptor?: { value?: unknown } } | undefined)?.descriptor?.value;
  return d === undefined ? undefined : Number(d);
};
const unwrapOutcome = rheaMessage.unwrap_outcome;
rheaMessage.unwrap_outcome = (o) => (TXN_DESCRIPTORS.has(descriptorOf(o) ?? -1) ? o : unwrapOutcome(o));
const unwrapTerminus = rheaTerminus.unwrap;
rheaTerminus.unwrap = (o) => (TXN_DESCRIPTORS.has(descriptorOf(o) ?? -1) ? o : unwrapTerminus(o));

const t = rhea.types as unknown as {
  described(descriptor: unknown, value: unknown): unknown;
  wrap_ulong(n: number): unknown;
  wrap_list(l: unknown[]): unknown;
  wrap_binary(b: Buffer): unknown;
  wrap_boolean(b: boolean): unknown;
  wrap_array(l: unknown[], code: number): unknown;
  unwrap(o: unknown, leaveDescribed?: boolean): unknown;
  Writer: new () => { write(v: unknown): void; toBuffer(): Buffer };
};
const described = (code: number, fields: unknown[]) => t.described(t.wrap_ulong(code), t.wrap_list(fields));

/** the transactional-state a disposition carries: this transaction, this outcome */
export function txnState(txnId: Buffer, outcome: 'accepted' | 'released' | 'rejected' = 'accepted'): unknown {
  const code = { accepted: 0x24, rejected: 0x25, released: 0x26 }[outcome];
  return described(0x34, [t.wrap_binary(txnId), described(code, [])]);
}

/**
 * What a state is: a descriptor code, and its fields for a described value rhea passed
 * through ([txn-id] for declared, [txn-id, outcome] for transactional-state). Outcomes rhea
 * knows (accepted, rejected, …) come as rhea's objects: their code is the outcome's.
 */
export function stateFields(state: unknown): { code: number | undefined; fields: unknown[] } {
  const known = (state as { constructor?: { composite_type?: string } } | undefined)?.constructor?.composite_type;
  if (known) return { code: { received: 0x23, accepted: 0x24, rejected: 0x25, released: 0x26, modified: 0x27 }[known], fields: [] };
  const list = (state as { value?: unknown }).value;
  const fields = (t.unwrap(list, true) as unknown[] | undefined) ?? [];
  return { code: descriptorOf(state), fields };
}

export interface Settled {
  state: unknown;
  /** a rejected state's error */
  error?: { condition?: string; description?: string };
  code: number | undefined;
  fields: unknown[];
}

/** a controller: a sender to the coordinator, and its declare / discharge */
export class RheaController {
  private constructor(readonly link: Sender) {}

  static open(conn: Connection, capabilities: string[] = ['amqp:local-transactions']): Promise<RheaController> {
    const link = conn.open_sender({ name: `coordinator-${Math.random().toString(36).slice(2, 8)}` });
    (link as unknown as { local: { attach: { target: unknown } } }).local.attach.target = described(0x30, [t.wrap_array(capabilities.map((c) => rhea.types.wrap_symbol(c)), 0xa3)]);
    return new Promise((resolve, reject) => {
      link.once('sender_open', () => resolve(new RheaController(link)));
      link.once('sender_error', (ctx: EventContext) => reject(new Error(String((ctx.sender?.error as { condition?: string })?.condition))));
    });
  }

  /** the coordinator target the broker attached with */
  get remoteTarget(): unknown {
    return (this.link as unknown as { remote: { attach: { target: unknown } } }).remote.attach.target;
  }

  private control(value: unknown): Promise<Settled> {
    // rhea's message encoder cannot put a described value inside the amqp-value section (the
    // section's descriptor replaces the value's): rhea's Writer encodes the value, and the
    // section header (0x00 0x53 0x77) goes in front; rhea sends those bytes as the message
    const w = new t.Writer();
    w.write(value);
    const payload = Buffer.concat([Buffer.from([0x00, 0x53, 0x77]), w.toBuffer()]);
    return new Promise((resolve) => {
      const go = () => {
        const delivery = (this.link as unknown as { send(m: Buffer, tag: undefined, format: number): Delivery }).send(payload, undefined, 0);
        const onSettled = (ctx: EventContext) => {
          if (ctx.delivery !== delivery) return;
          this.link.removeListener('settled', onSettled);
          const state = (delivery as unknown as { remote_state: unknown }).remote_state;
          const e = (state as { error?: { condition?: unknown; description?: unknown } }).error;
          const error = e ? { condition: String(e.condition), description: String(e.description) } : undefined;
          resolve({ state, error, ...stateFields(state) });
        };
        this.link.on('settled', onSettled);
      };
      if (this.link.sendable()) go();
      else this.link.once('sendable', go);
    });
  }

  /** declare: the new txn-id (throws with the refusal otherwise) */
  async declare(): Promise<Buffer> {
    const r = await this.control(described(0x31, []));
    if (r.code !== 0x33) throw new Error(`declare answered ${JSON.stringify(r.state)}`);
    return r.fields[0] as Buffer;
  }

  /** discharge: the coordinator's answer (0x24 accepted, 0x25 rejected with its error) */
  discharge(txnId: Buffer, fail: boolean): Promise<Settled> {
    return this.control(described(0x32, [t.wrap_binary(txnId), t.wrap_boolean(fail)]));
  }
}

/**
 * Settle a received delivery inside a transaction (settled or not). Resolves once rhea has
 * written the disposition: within one turn rhea writes transfers before dispositions, so a
 * discharge sent in the same turn would overtake it (proton and Qpid JMS write in call order).
 */
export async function txnSettle(delivery: Delivery, txnId: Buffer, settled: boolean, outcome: 'accepted' | 'released' | 'rejected' = 'accepted'): Promise<void> {
  (delivery as unknown as { update(settled: boolean, state: unknown): void }).update(settled, txnState(txnId, outcome));
  await new Promise((r) => setImmediate(r));
}
