import type { Engine, PortOptions } from './options.js';

/** Every listener LocalMQ can run, by the key used in `ports`. */
export type ListenerKey = keyof PortOptions;

/** The standard port of each listener (what the CLI binds by default). */
export const STANDARD_PORTS: Record<ListenerKey, number> = {
  amqp: 5672,
  amqps: 5671,
  amqp10: 5672,
  amqp10s: 5671,
  stomp: 61613,
  stomps: 61614,
  stompWs: 15674,
  mqtt: 1883,
  mqtts: 8883,
  mqttWs: 15675,
  wss: 61619,
  http: 15672,
  https: 15671,
  console: 8162,
  api: 4566,
  openwire: 61616,
  openwireSsl: 61617,
};

/**
 * Which listeners each engine profile turns on, as Amazon MQ's brokers of that engine
 * expose them (plus the plaintext ports developers' tools expect locally):
 * - rabbitmq: AMQP 0-9-1 over TLS 5671 and the management console/API over HTTPS 15671,
 *   plaintext 5672 and 15672; Amazon's RabbitMQ engine has no STOMP or MQTT.
 * - activemq: OpenWire+SSL 61617 (the JMS client's ssl://), AMQP 1.0 over TLS 5671 (`amqp+ssl`),
 *   STOMP+SSL 61614, MQTT+SSL 8883, WSS 61619 (STOMP and MQTT by subprotocol), the console on
 *   8162; plaintext OpenWire 61616, AMQP 5672, STOMP 61613 and MQTT 1883 as ActiveMQ listens by default.
 * - rabbitmq and all: AMQP 1.0 shares the AMQP ports, chosen by the protocol header (RabbitMQ 4).
 * - all: both, over one core.
 * Every profile has the Amazon MQ API (`api`, 4566), which creates brokers of either engine.
 */
export const PROFILE_LISTENERS: Record<Engine, ListenerKey[]> = {
  rabbitmq: ['amqp', 'amqps', 'http', 'https', 'api'],
  activemq: ['openwire', 'openwireSsl', 'amqp10', 'amqp10s', 'stomp', 'stomps', 'mqtt', 'mqtts', 'wss', 'console', 'api'],
  all: ['openwire', 'openwireSsl', 'amqp', 'amqps', 'stomp', 'stomps', 'stompWs', 'mqtt', 'mqtts', 'mqttWs', 'wss', 'http', 'https', 'console', 'api'],
};

/**
 * The listeners an Amazon MQ broker really has: TLS only. In strict mode a profile runs just
 * these (Amazon MQ for RabbitMQ: AMQP over TLS and the management API over HTTPS; for
 * ActiveMQ: the TLS endpoints and the console), so an app meets the endpoints it will meet there.
 */
export const TLS_LISTENERS: ReadonlySet<ListenerKey> = new Set<ListenerKey>(['amqps', 'amqp10s', 'stomps', 'mqtts', 'wss', 'https', 'console']);

/**
 * The port each enabled listener gets: an explicit setting wins (false turns it off, 0 picks
 * a free port); otherwise the profile's listeners get their standard port, or a free one
 * when `freePorts` is set (startBroker in tests); listeners outside the profile stay off
 * unless a port is given for them. `strict` keeps only the profile's TLS listeners on by default.
 */
export function resolvePorts(engine: Engine, ports: PortOptions, freePorts: boolean, strict = false): Partial<Record<ListenerKey, number>> {
  const enabled = new Set(PROFILE_LISTENERS[engine].filter((key) => !strict || TLS_LISTENERS.has(key)));
  const out: Partial<Record<ListenerKey, number>> = {};
  for (const key of Object.keys(STANDARD_PORTS) as ListenerKey[]) {
    const setting = ports[key];
    if (setting === false) continue;
    if (typeof setting === 'number') out[key] = setting;
    else if (enabled.has(key)) out[key] = freePorts ? 0 : STANDARD_PORTS[key];
  }
  return out;
}

/** Endpoints an Amazon MQ broker of this engine has that LocalMQ does not serve yet. */
export const NOT_YET_AVAILABLE: Record<Engine, { name: string; port: number; url: string }[]> = {
  rabbitmq: [],
  activemq: [],
  all: [],
};
