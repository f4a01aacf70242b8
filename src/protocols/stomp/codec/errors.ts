export type StompCodecErrorCode =
  | 'command-too-long'
  | 'too-many-headers'
  | 'header-line-too-long'
  | 'body-too-large'
  | 'invalid-content-length'
  | 'missing-nul'
  | 'invalid-escape'
  | 'malformed-header'
  | 'malformed-eol'
  | 'incomplete-headers';

/**
 * A malformed frame or a limit violation. Fatal for the connection: the
 * session sends an ERROR frame with `message` as its `message` header and
 * `explanation` as its body, then closes.
 */
export class StompCodecError extends Error {
  override readonly name = 'StompCodecError';

  constructor(
    readonly code: StompCodecErrorCode,
    message: string,
    readonly explanation: string,
    /** the header value refused, where one is (a content-length's, as sent) */
    readonly value?: string,
  ) {
    super(message);
  }
}
