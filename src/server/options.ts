import type { LimitSettings } from '../core/limits.js';
import type { LogLevel, Logger } from './logger.js';
import type { AmqpTuning } from '../protocols/amqp/connection.js';

export type Engine = 'rabbitmq' | 'activemq' | 'all';

/** A port setting: a number (0 picks a free one) or false to leave the listener off. */
export type PortSetting = number | false;

export interface PortOptions {
  amqp?: PortSetting;
  amqps?: PortSetting;
  stomp?: PortSetting;
  stomps?: PortSetting;
  stompWs?: PortSetting;
  mqtt?: PortSetting;
  mqtts?: PortSetting;
  mqttWs?: PortSetting;
  http?: PortSetting;
  https?: PortSetting;
}

export interface UserOption {
  name: string;
  password: string;
  tags?: string[];
}

export interface BrokerOptions {
  /** addresses to listen on; default loopback over IPv4 and IPv6 */
  hosts?: string[];
  /** the name clients use in URLs; default 'localhost' */
  hostname?: string;
  ports?: PortOptions;
  /** every listener on a free port (the default for startBroker) */
  freePorts?: boolean;
  engine?: Engine;
  /** keep state on disk in this directory; default: in memory */
  dataDir?: string;
  /** users to create; default guest/guest (administrator, loopback only) */
  users?: UserOption[];
  /** vhosts to create besides '/' */
  vhosts?: string[];
  logLevel?: LogLevel;
  logger?: Logger;
  limits?: Partial<LimitSettings>;
  amqp?: Partial<AmqpTuning>;
}
