export { startBroker, LocalMQ, type BrokerUrls, type QueueInfo, type PeekedMessage } from './server/local-mq.js';
export type { BrokerOptions, PortOptions, UserOption, Engine } from './server/options.js';
export type { MessageProperties, Message } from './core/message.js';
export type { FieldTable, FieldValue } from './core/fields.js';
