import type { FuzzTarget } from '../harness.js';
import { amqpTarget } from './amqp.js';
import { amqp10Target } from './amqp10.js';
import { mqttTarget } from './mqtt.js';
import { openwireTarget } from './openwire.js';
import { stompTarget } from './stomp.js';

/** every decoder the broker exposes to clients, by name */
export const TARGETS: Record<string, FuzzTarget> = {
  [amqpTarget.name]: amqpTarget,
  [stompTarget.name]: stompTarget,
  [mqttTarget.name]: mqttTarget,
  [openwireTarget.name]: openwireTarget,
  [amqp10Target.name]: amqp10Target,
};
