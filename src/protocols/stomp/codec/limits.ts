/**
 * Bounds on what a peer may make the parser buffer (STOMP 1.2 "Size Limits":
 * a server MAY cap header count, header line length and body size, and
 * SHOULD answer a violation with ERROR and close).
 */
export interface StompCodecLimits {
  /** Largest body accepted, in bytes. */
  maxBodySize: number;
  /** Most header lines in one frame, repeated names included. */
  maxHeaderCount: number;
  /** Longest header line in bytes as sent (escapes counted undecoded, EOL not counted). */
  maxHeaderLineLength: number;
  /** Longest command line in bytes. */
  maxCommandLength: number;
}

export const DEFAULT_STOMP_LIMITS: Readonly<StompCodecLimits> = Object.freeze({
  // RabbitMQ's default max_message_size (128 MiB).
  maxBodySize: 128 * 1024 * 1024,
  maxHeaderCount: 1000,
  maxHeaderLineLength: 10 * 1024,
  // The longest standard command is 11 bytes; room is left for the session
  // to see, and reject by name, unknown commands.
  maxCommandLength: 256,
});

export function resolveLimits(overrides: Partial<StompCodecLimits> | undefined): StompCodecLimits {
  const limits = { ...DEFAULT_STOMP_LIMITS, ...overrides };
  for (const [key, value] of Object.entries(limits)) {
    if (!Number.isInteger(value) || value < 0) throw new RangeError(`STOMP limit ${key} must be a non-negative integer, got ${value}`);
  }
  return limits;
}
