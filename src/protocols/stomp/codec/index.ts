export {
  EMPTY_BODY,
  STOMP_VERSIONS,
  createFrame,
  getHeader,
  getHeaderValues,
  hasHeader,
  headersToObject,
  isUnescapedCommand,
  type StompFrame,
  type StompHeader,
  type StompVersion,
} from './frame.js';
export { StompCodecError, type StompCodecErrorCode } from './errors.js';
export { DEFAULT_STOMP_LIMITS, resolveLimits, type StompCodecLimits } from './limits.js';
export {
  StompParser,
  parseStompFrames,
  type ParsedStompStream,
  type StompParserHandler,
  type StompParserOptions,
} from './parser.js';
export { STOMP_HEARTBEAT, serializeFrame, type StompSerializeOptions } from './serializer.js';
