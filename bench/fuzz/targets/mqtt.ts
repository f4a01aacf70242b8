/**
 * MQTT 3.1, 3.1.1 and 5.0: the connection's read path as it is, the PacketReader (declared
 * length checked against the packet limit before buffering, whole packets cut out) in front
 * of the hot-packet readers (PUBLISH and the acks after CONNECT) and mqtt-packet's parser,
 * which switches to the version a CONNECT names, then the topic checks every PUBLISH and
 * SUBSCRIBE meets. Every packet type, with MQTT 5 properties.
 */
import fc from 'fast-check';
import mqttPacket, { type Packet, type Parser } from 'mqtt-packet';
import { MqttFrameError, PacketReader } from '../../../src/protocols/mqtt/framing.js';
import { decodePublish, plainAckId, PUBACK, PUBCOMP, PUBLISH, PUBREC, PUBREL } from '../../../src/protocols/mqtt/hot-packets.js';
import { hasInvalidUtf8, validFilter, validTopicName } from '../../../src/protocols/mqtt/subscriptions.js';
import type { FuzzTarget } from '../harness.js';
import { chunksOf } from '../mutate.js';

/** the largest remaining length the framer lets through while fuzzing */
const LIMIT = 4096;

const text = fc.string({ maxLength: 24 });
const topic = fc.oneof(fc.constantFrom('a/b', 'sensors/+/temp', '#', '$SYS/x', 'a//b', '/', '+', '$share/g/t'), text);
const qos = fc.constantFrom(0 as const, 1 as const, 2 as const);
const messageId = fc.integer({ min: 1, max: 0xffff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const bytes = fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a));
const userProperties = fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), fc.oneof(text, fc.array(text, { minLength: 1, maxLength: 3 })), { maxKeys: 3 });
const reasonCode = fc.constantFrom(0, 0x04, 0x10, 0x80, 0x83, 0x87, 0x8e, 0x91, 0x97);
const ackProps = fc.record({ reasonString: text, userProperties }, { requiredKeys: [] });

function packets(version: 3 | 4 | 5): fc.Arbitrary<Packet>[] {
  const v5 = version === 5;
  const props = <T>(a: fc.Arbitrary<T>) => (v5 ? fc.option(a, { nil: undefined }) : fc.constant(undefined));
  const connect = fc.record({
    cmd: fc.constant('connect' as const),
    protocolId: fc.constant(version === 3 ? ('MQIsdp' as const) : ('MQTT' as const)),
    protocolVersion: fc.constant(version),
    clientId: text,
    clean: fc.boolean(),
    keepalive: u16,
    username: fc.option(text, { nil: undefined }),
    password: fc.option(bytes, { nil: undefined }),
    will: fc.option(
      fc.record({
        topic: fc.string({ minLength: 1, maxLength: 20 }),
        payload: bytes,
        qos,
        retain: fc.boolean(),
        properties: props(fc.record({ willDelayInterval: u32, payloadFormatIndicator: fc.boolean(), messageExpiryInterval: u32, contentType: text, responseTopic: text, correlationData: bytes, userProperties }, { requiredKeys: [] })),
      }),
      { nil: undefined },
    ),
    properties: props(
      fc.record(
        { sessionExpiryInterval: u32, receiveMaximum: fc.integer({ min: 1, max: 0xffff }), maximumPacketSize: fc.integer({ min: 1, max: 0xfffffff }), topicAliasMaximum: u16, requestResponseInformation: fc.boolean(), requestProblemInformation: fc.boolean(), userProperties, authenticationMethod: text, authenticationData: bytes },
        { requiredKeys: [] },
      ),
    ),
  });
  const publish = fc.record({
    cmd: fc.constant('publish' as const),
    qos,
    dup: fc.boolean(),
    retain: fc.boolean(),
    topic: fc.string({ minLength: 1, maxLength: 30 }),
    payload: fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
    messageId,
    properties: props(
      fc.record(
        { payloadFormatIndicator: fc.boolean(), messageExpiryInterval: u32, topicAlias: fc.integer({ min: 1, max: 0xffff }), responseTopic: text, correlationData: bytes, userProperties, subscriptionIdentifier: fc.integer({ min: 1, max: 268435455 }), contentType: text },
        { requiredKeys: [] },
      ),
    ),
  });
  const ack = (cmd: 'puback' | 'pubrec' | 'pubrel' | 'pubcomp') => fc.record({ cmd: fc.constant(cmd), messageId, reasonCode: v5 ? reasonCode : fc.constant(undefined), properties: props(ackProps) });
  const subscribe = fc.record({
    cmd: fc.constant('subscribe' as const),
    messageId,
    subscriptions: fc.array(fc.record({ topic, qos, nl: fc.boolean(), rap: fc.boolean(), rh: fc.integer({ min: 0, max: 2 }) }), { minLength: 1, maxLength: 4 }),
    properties: props(fc.record({ reasonString: text, subscriptionIdentifier: fc.integer({ min: 1, max: 268435455 }), userProperties }, { requiredKeys: [] })),
  });
  const unsubscribe = fc.record({ cmd: fc.constant('unsubscribe' as const), messageId, unsubscriptions: fc.array(topic, { minLength: 1, maxLength: 4 }), properties: props(ackProps) });
  const simple = fc.constantFrom({ cmd: 'pingreq' as const }, { cmd: 'pingresp' as const });
  const disconnect = fc.record({ cmd: fc.constant('disconnect' as const), reasonCode: v5 ? reasonCode : fc.constant(undefined), properties: props(fc.record({ sessionExpiryInterval: u32, reasonString: text, userProperties, serverReference: text }, { requiredKeys: [] })) });
  const connack = fc.record({ cmd: fc.constant('connack' as const), sessionPresent: fc.boolean(), returnCode: fc.constantFrom(0, 1, 5), reasonCode: v5 ? reasonCode : fc.constant(undefined) });
  const suback = fc.record({ cmd: fc.constant('suback' as const), messageId, granted: fc.array(fc.constantFrom(0, 1, 2, 128), { minLength: 1, maxLength: 4 }) });
  const list: fc.Arbitrary<Packet>[] = [connect, publish, publish, ack('puback'), ack('pubrec'), ack('pubrel'), ack('pubcomp'), subscribe, unsubscribe, simple, disconnect, connack, suback] as fc.Arbitrary<Packet>[];
  if (v5) list.push(fc.record({ cmd: fc.constant('auth' as const), reasonCode: fc.constantFrom(0, 0x18, 0x19), properties: fc.option(fc.record({ authenticationMethod: text, authenticationData: bytes, reasonString: text, userProperties }, { requiredKeys: [] }), { nil: undefined }) }) as fc.Arbitrary<Packet>);
  return list;
}

function generated(version: 3 | 4 | 5): fc.Arbitrary<Buffer> {
  return fc.oneof(...packets(version)).map((p) => {
    try {
      return Buffer.from(mqttPacket.generate(p, { protocolVersion: version }));
    } catch {
      // a combination mqtt-packet will not write (e.g. a QoS 0 PUBLISH with an id): send a PINGREQ instead
      return Buffer.from([0xc0, 0x00]);
    }
  });
}

/** a session as a client writes it: CONNECT at its version, then packets of that version */
const session = fc.constantFrom(3 as const, 4 as const, 5 as const).chain((version) =>
  fc.tuple(generated(version), fc.array(generated(version), { maxLength: 3 })).map(([first, rest]) => Buffer.concat([first, ...rest])),
);

export const mqttTarget: FuzzTarget = {
  name: 'mqtt',
  valid: session,
  // the version the parser reads with before any CONNECT: 4 (as the connection starts), 5, 3
  variants: 3,
  limit: LIMIT,
  run(input) {
    const reader = new PacketReader(LIMIT);
    let version = 0;
    const parser: Parser = mqttPacket.parser({ protocolVersion: [4, 5, 3][input.variant] });
    let failed = false;
    parser.on('error', () => {
      failed = true;
    });
    parser.on('packet', (p: Packet) => {
      if (failed) return;
      switch (p.cmd) {
        case 'connect':
          // as MqttConnection.onConnect: later packets are read by the version CONNECT names
          (parser as Parser & { settings: { protocolVersion: number } }).settings = { protocolVersion: p.protocolVersion ?? 4 };
          version = p.protocolVersion ?? 4;
          break;
        case 'publish':
          validTopicName(p.topic);
          hasInvalidUtf8(p.topic);
          break;
        case 'subscribe':
          for (const s of p.subscriptions) validFilter(s.topic);
          break;
        case 'unsubscribe':
          for (const t of p.unsubscriptions) validFilter(t);
          break;
      }
    });
    // as MqttConnection.onPacketBytes: once connected, the hot packets' plain forms are read
    // without mqtt-packet; anything else (and what they leave) goes to it
    const each = (buf: Buffer, start: number, end: number): void => {
      if (failed) return;
      const type = buf[start]! >> 4;
      if (version > 0 && type === PUBLISH) {
        const p = decodePublish(buf, version, start, end);
        if (p) {
          validTopicName(p.topic);
          hasInvalidUtf8(p.topic);
          return;
        }
      } else if (version > 0 && (type === PUBACK || type === PUBREC || type === PUBREL || type === PUBCOMP) && plainAckId(buf, type, start, end) >= 0) {
        return;
      }
      parser.parse(buf.subarray(start, end));
    };
    const stopIf = (): boolean => failed;
    for (const chunk of chunksOf(input)) {
      if (failed) return;
      // the packets before an offending one are read; the connection then closes
      try {
        reader.push(chunk, each, stopIf);
      } catch (err) {
        if (err instanceof MqttFrameError) return;
        throw err;
      }
    }
  },
  // mqtt-packet reports malformed packets through its 'error' event: nothing may be thrown
  expected: () => false,
};
