/** AMQP 0-9-1 codec: pure encoding and decoding on Node Buffers, no I/O. */
export * from './constants.js';
export { AmqpCodecError, AmqpProtocolHeaderError } from './errors.js';
export {
  decodeFieldArray,
  decodeFieldTable,
  decodeLongString,
  decodeShortString,
  encodeFieldArray,
  encodeFieldTable,
  encodeLongString,
  encodeShortString,
} from './field-table.js';
export { METHOD_SPECS, type FieldType } from './method-spec.js';
export {
  basicDeliverFrameSize,
  decodeMethod,
  encodeBasicDeliverFrame,
  encodeMethodFrame,
  encodeMethodPayload,
  methodInfo,
  methodName,
  writeBasicDeliverFrame,
  type DecodedMethod,
  type DecodedMethodOf,
  type MethodArgs,
  type MethodArgsInput,
  type MethodId,
  type MethodInfo,
  type MethodName,
} from './methods.js';
export {
  EMPTY_PROPERTY_BLOCK,
  decodeContentHeader,
  decodeContentHeaderFrame,
  decodeProperties,
  encodeContentHeaderFrame,
  encodeProperties,
  type DecodedContentHeader,
} from './content-header.js';
export { FrameParser, type Frame, type FrameParserOptions } from './frame-parser.js';
export {
  HEARTBEAT_FRAME,
  bodyFramesSize,
  encodeContentFrames,
  encodeDelivery,
  messagePropertyBlock,
} from './frame-writer.js';
