export * from './types.js';
export * from './errors.js';
export { Decoder, decodeValue, T } from './decoder.js';
export { Encoder, encodeValue } from './encoder.js';
export * from './composites.js';
export * from './frames.js';
export * from './message.js';
