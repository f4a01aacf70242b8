import { OpenWireDecodeError } from './data.js';
import type { OwStruct } from './marshal.js';
import { PType, decodePrimitiveMap, encodePrimitiveMap, type Typed } from './primitive.js';
import { T } from './types.js';

export const MAGIC = Buffer.from('ActiveMQ', 'latin1');
/** the newest OpenWire version LocalMQ speaks, and the oldest */
export const MAX_VERSION = 12;
export const MIN_VERSION = 9;
/** ActiveMQ's default maxFrameSize (100 MiB) */
export const DEFAULT_MAX_FRAME_SIZE = 104_857_600;
/** ActiveMQ's InactivityMonitor default */
export const DEFAULT_MAX_INACTIVITY_MS = 30_000;
export const DEFAULT_INACTIVITY_INITIAL_DELAY_MS = 10_000;

export interface WireFormatSettings {
  maxFrameSize: number;
  maxInactivityDuration: number;
  maxInactivityDurationInitialDelay: number;
  providerVersion: string;
}

/**
 * The broker's WireFormatInfo. Tight encoding and the marshal cache are advertised off,
 * so whatever the client prefers, the negotiated format is loose and uncached (the result
 * of a negotiation is the AND of both sides' flags).
 */
export function brokerWireFormatInfo(s: WireFormatSettings): OwStruct {
  const p = new Map<string, Typed>([
    ['TcpNoDelayEnabled', { t: PType.Boolean, v: true }],
    ['SizePrefixDisabled', { t: PType.Boolean, v: false }],
    ['CacheSize', { t: PType.Integer, v: 1024 }],
    ['ProviderName', { t: PType.String, v: 'ActiveMQ' }],
    ['StackTraceEnabled', { t: PType.Boolean, v: true }],
    ['PlatformDetails', { t: PType.String, v: `LocalMQ on Node.js ${process.version}` }],
    ['CacheEnabled', { t: PType.Boolean, v: false }],
    ['TightEncodingEnabled', { t: PType.Boolean, v: false }],
    ['MaxFrameSize', { t: PType.Long, v: s.maxFrameSize }],
    ['MaxInactivityDuration', { t: PType.Long, v: s.maxInactivityDuration }],
    ['MaxInactivityDurationInitalDelay', { t: PType.Long, v: s.maxInactivityDurationInitialDelay }],
    ['ProviderVersion', { t: PType.String, v: s.providerVersion }],
  ]);
  return { type: T.WireFormatInfo, magic: MAGIC, version: MAX_VERSION, marshalledProperties: encodePrimitiveMap(p) };
}

export interface Negotiated {
  version: number;
  stackTraceEnabled: boolean;
  tightEncodingEnabled: boolean;
  cacheEnabled: boolean;
  sizePrefixDisabled: boolean;
  maxFrameSize: number;
  /** 0: the client asked for no inactivity monitoring */
  maxInactivityDuration: number;
  maxInactivityDurationInitialDelay: number;
  properties: Map<string, Typed>;
}

/** OpenWireFormat.renegotiateWireFormat: the lower version, the AND of the flags, the smaller limits */
export function negotiate(client: OwStruct, s: WireFormatSettings): Negotiated {
  const magic = client['magic'] as Buffer;
  if (!magic.equals(MAGIC)) throw new OpenWireDecodeError('Bad magic in WireFormatInfo: not an OpenWire client');
  const props = client['marshalledProperties'] ? decodePrimitiveMap(client['marshalledProperties'] as Buffer) : new Map<string, Typed>();
  const flag = (k: string) => props.get(k)?.v === true;
  const num = (k: string, dflt: number) => {
    const v = props.get(k)?.v;
    return typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : dflt;
  };
  const clientVersion = client['version'] as number;
  const version = Math.min(MAX_VERSION, clientVersion);
  const inactivity = num('MaxInactivityDuration', 0);
  return {
    version,
    stackTraceEnabled: flag('StackTraceEnabled'),
    tightEncodingEnabled: false,
    cacheEnabled: false,
    sizePrefixDisabled: false,
    maxFrameSize: Math.min(s.maxFrameSize, num('MaxFrameSize', s.maxFrameSize)),
    maxInactivityDuration: inactivity > 0 && s.maxInactivityDuration > 0 ? Math.min(inactivity, s.maxInactivityDuration) : 0,
    maxInactivityDurationInitialDelay: num('MaxInactivityDurationInitalDelay', s.maxInactivityDurationInitialDelay),
    properties: props,
  };
}
