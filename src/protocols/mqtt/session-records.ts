import type { KeyedRecords } from '../../core/keyed-records.js';
import type { PublishProperties } from './messages.js';
import type { SubscriptionOptions } from './subscriptions.js';

/** the core's keyed-records namespace for MQTT sessions (key: vhost NUL client id) */
export const SESSION_NAMESPACE = 'mqtt-session';

/** a will as a live connection holds it */
export interface Will {
  topic: string;
  payload: Buffer;
  qos: number;
  retain: boolean;
  properties?: PublishProperties & { willDelayInterval?: number };
}

/** a will, written down while its client is connected: published after a crash */
export interface StoredWill {
  topic: string;
  /** base64 */
  payload: string;
  qos: number;
  retain: boolean;
  /** MQTT 5 properties; correlation data base64 */
  properties?: Record<string, unknown>;
  user: string;
  version: number;
  /** seconds to wait before publishing it (MQTT 5 will delay, capped by the session expiry) */
  delay: number;
}

/**
 * What an MQTT session keeps that is neither its queue nor its queue's bindings: its shared
 * subscriptions (their group queues belong to the group, not to the session), the will of
 * its live connection, and its QoS 2 packet ids in mid-handshake.
 */
export interface StoredSession {
  /** `$share/{group}/{filter}` subscriptions of a persistent session */
  shared?: { filter: string; options: SubscriptionOptions }[];
  will?: StoredWill;
  /** QoS 2 PUBLISHes received whose PUBREL has not come */
  incomingQos2?: number[];
  /** QoS 2 deliveries released (PUBREL sent) awaiting PUBCOMP */
  pendingPubrel?: number[];
}

export class MqttSessionRecords {
  constructor(private readonly records: KeyedRecords) {}

  get(vhost: string, clientId: string): StoredSession | undefined {
    return this.records.get(SESSION_NAMESPACE, `${vhost}\u0000${clientId}`) as StoredSession | undefined;
  }

  /** change some fields (undefined or empty removes one); a record left empty is deleted */
  update(vhost: string, clientId: string, patch: Partial<StoredSession>): void {
    const before = this.get(vhost, clientId);
    const next: StoredSession = { ...before };
    for (const k of Object.keys(patch) as (keyof StoredSession)[]) {
      const v = patch[k];
      if (v === undefined || (Array.isArray(v) && v.length === 0)) delete next[k];
      else (next as Record<string, unknown>)[k] = v;
    }
    if (!before && Object.keys(next).length === 0) return;
    this.records.put(SESSION_NAMESPACE, `${vhost}\u0000${clientId}`, Object.keys(next).length === 0 ? null : next);
  }

  delete(vhost: string, clientId: string): void {
    this.records.put(SESSION_NAMESPACE, `${vhost}\u0000${clientId}`, null);
  }

  *all(): Generator<{ vhost: string; clientId: string; session: StoredSession }> {
    for (const [key, value] of this.records.entries(SESSION_NAMESPACE)) {
      const nul = key.indexOf('\u0000');
      yield { vhost: key.slice(0, nul), clientId: key.slice(nul + 1), session: value as StoredSession };
    }
  }
}

export function storeWill(will: Will, user: string, version: number, delay: number): StoredWill {
  const out: StoredWill = { topic: will.topic, payload: will.payload.toString('base64'), qos: will.qos, retain: will.retain, user, version, delay };
  if (will.properties) {
    const { correlationData, ...rest } = will.properties;
    out.properties = correlationData ? { ...rest, correlationData: correlationData.toString('base64') } : { ...rest };
  }
  return out;
}

export function loadWill(s: StoredWill): Will {
  const will: Will = { topic: s.topic, payload: Buffer.from(s.payload, 'base64'), qos: s.qos, retain: s.retain };
  if (s.properties) {
    const { correlationData, ...rest } = s.properties as Record<string, unknown> & { correlationData?: string };
    will.properties = { ...(rest as PublishProperties) };
    if (typeof correlationData === 'string') will.properties.correlationData = Buffer.from(correlationData, 'base64');
  }
  return will;
}
