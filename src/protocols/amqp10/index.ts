import type { Socket } from 'node:net';
import type { ProtocolContext } from '../context.js';
import { Amqp10Connection, DEFAULT_AMQP10_TUNING, type Amqp10Tuning } from './connection.js';

export { Amqp10Connection, DEFAULT_AMQP10_TUNING, type Amqp10Tuning } from './connection.js';

/** serve one AMQP 1.0 client on an accepted socket (TCP or TLS) */
export function acceptAmqp10Socket(socket: Socket, ctx: ProtocolContext, tuning: Amqp10Tuning = DEFAULT_AMQP10_TUNING): Amqp10Connection {
  return new Amqp10Connection(socket, ctx, tuning);
}
