import type { Message } from './message.js';

/**
 * How an adapter's own form of a message (`Message.native`, e.g. OpenWire's marshalled JMS
 * message with its typed properties and ids) is written to a store and read back, so a
 * message kept in that form can be persisted and paged out like any other and come back
 * identical. The adapter registers its codec when its module loads; the store only ever
 * sees bytes. The store writes the message's body once: the form leaves out what the body
 * holds and gets it back to decode.
 */
export interface NativeForm {
  /**
   * the bytes to store beside `body`, without what `body` holds; they may be the codec's
   * scratch buffer, valid until its next encode (the store copies them at once)
   */
  encode(data: unknown, body: Buffer): Buffer;
  /** the form from what encode gave and the message's body */
  decode(bytes: Buffer, body: Buffer): unknown;
  /** the form from bytes that hold the body too: what stores written before the body was stored once hold */
  decodeWhole(bytes: Buffer): unknown;
  /**
   * the form of the message's ActiveMQ.DLQ copy (ActiveMQ's: `cause` as dlqDeliveryFailureCause, no
   * expiry, originalExpiration, originalDestination), for a copy the core makes (an expiry), so a
   * consumer of the DLQ gets what the producer sent (its typed properties, its timestamp)
   */
  deadLettered?(data: unknown, cause: string): NonNullable<Message['native']>;
}

const forms = new Map<string, NativeForm>();

export function registerNativeForm(protocol: string, form: NativeForm): void {
  forms.set(protocol, form);
}

/**
 * A native form read back from a store: decoded on first use, by then the adapter that made
 * it has registered its codec (a store may read messages back before the adapter's module
 * is loaded, e.g. a queue's head at recovery). Written again as the same bytes.
 */
export class StoredNative {
  private decoded: unknown;
  private done = false;

  constructor(
    readonly protocol: string,
    readonly encoded: Buffer,
    /** the message's body, which `encoded` leaves out */
    private readonly body: Buffer,
    /** `encoded` holds the body too (a record written before the body was stored once) */
    readonly whole = false,
  ) {}

  get data(): unknown {
    if (!this.done) {
      const form = forms.get(this.protocol);
      if (!form) return undefined;
      this.decoded = this.whole ? form.decodeWhole(this.encoded) : form.decode(this.encoded, this.body);
      this.done = true;
    }
    return this.decoded;
  }
}

/**
 * The bytes a store writes for a message's native form beside its body (see NativeForm.encode;
 * a form read back whole is written back whole, StoredNative.whole); undefined when it has
 * none, or none its adapter can write (it is then stored in the core's form only).
 */
export function encodeNative(m: Message): Buffer | undefined {
  const native = m.native;
  if (native === undefined) return undefined;
  if (native instanceof StoredNative) return native.encoded;
  return forms.get(native.protocol)?.encode(native.data, m.body);
}

/** the native form of a message's ActiveMQ.DLQ copy (NativeForm.deadLettered), if its adapter makes one */
export function deadLetteredNative(m: Message, cause: string): Message['native'] {
  const native = m.native;
  if (native === undefined) return undefined;
  const form = forms.get(native.protocol);
  return form?.deadLettered && native.data !== undefined ? form.deadLettered(native.data, cause) : undefined;
}

/** the message's native form, if any, can be written to a store (so the message can be paged out) */
export function storableNative(m: Message): boolean {
  return m.native === undefined || m.native instanceof StoredNative || forms.has(m.native.protocol);
}
