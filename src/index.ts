export { startBroker, LocalMQ, type BrokerUrls } from './server/local-mq.js';
export type { QueueInfo, PeekedMessage } from './server/inspection.js';
export type { BrokerOptions, PortOptions, UserOption, Engine } from './server/options.js';
export type { MessageProperties, Message } from './core/message.js';
export type { FieldTable, FieldValue } from './core/fields.js';
