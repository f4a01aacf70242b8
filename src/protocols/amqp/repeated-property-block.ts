/**
 * A publisher mostly sends the same content-header properties message after message (amqplib
 * always sends an empty headers table; a pika or Java publisher its fixed delivery mode and
 * content type). Decoded anew, each queued message would hold its own properties object, its
 * headers table and its copy of the property bytes: three heap objects per message that a
 * flood of a million keeps in the old generation, copied by the scavenges that promote them and
 * visited by every mark-compact (issue 18 point 5: the event loop during a flood).
 *
 * One per channel: when a property block is byte for byte the previous one, the message gets
 * the previous message's properties and bytes (the same objects). Only properties whose values
 * are all primitives (headers included) are shared, frozen: the core copies properties before
 * changing them (dead-lettering, a quorum queue's counts), and a frozen object makes any code
 * that would change them in place fail loudly instead of changing other messages.
 */
import type { MessageProperties } from '../../core/message.js';
import { decodeProperties } from './codec/content-header.js';
import { freezeIfShareable } from '../common/repeated-properties.js';

export interface KeptProperties {
  readonly properties: MessageProperties;
  /** the property block as received (flags onward), a copy of its own: Message.encodedProperties */
  readonly bytes: Buffer;
}

export class RepeatedPropertyBlock {
  private last: KeptProperties | undefined;

  /** the properties of `block` (a view into the frame, not kept) */
  of(block: Buffer): KeptProperties {
    const last = this.last;
    if (last !== undefined && sameBytes(last.bytes, block)) return last;
    const properties = decodeProperties(block);
    const kept: KeptProperties = { properties, bytes: Buffer.from(block) };
    this.last = freezeIfShareable(properties) !== undefined ? kept : undefined;
    return kept;
  }
}

function sameBytes(a: Buffer, b: Buffer): boolean {
  if (a.length !== b.length) return false;
  // property blocks are mostly a few bytes: a loop costs less than a call into Buffer.equals
  if (a.length > 64) return a.equals(b);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

