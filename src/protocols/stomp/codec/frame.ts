/** The STOMP protocol versions this codec speaks. */
export type StompVersion = '1.0' | '1.1' | '1.2';

export const STOMP_VERSIONS: readonly StompVersion[] = ['1.0', '1.1', '1.2'];

/** One header entry: [name, value], already unescaped. */
export type StompHeader = [name: string, value: string];

/**
 * A STOMP frame as it travels on the wire. Headers stay an ordered list with
 * duplicates kept: the spec says the FIRST occurrence of a repeated header is
 * the one that counts, the later ones are history a server may pass along.
 */
export interface StompFrame {
  command: string;
  headers: StompHeader[];
  body: Buffer;
}

/** Shared empty body, so frames without a body do not each allocate one. */
export const EMPTY_BODY: Buffer = Buffer.alloc(0);

export function createFrame(command: string, headers: StompHeader[] = [], body: Buffer = EMPTY_BODY): StompFrame {
  return { command, headers, body };
}

/** The value of the first header called `name`, or undefined. */
export function getHeader(frame: StompFrame, name: string): string | undefined {
  const headers = frame.headers;
  for (let i = 0; i < headers.length; i++) {
    const h = headers[i]!;
    if (h[0] === name) return h[1];
  }
  return undefined;
}

export function hasHeader(frame: StompFrame, name: string): boolean {
  return getHeader(frame, name) !== undefined;
}

/** Every value of header `name`, in wire order (first one is the effective value). */
export function getHeaderValues(frame: StompFrame, name: string): string[] {
  const values: string[] = [];
  for (const [k, v] of frame.headers) if (k === name) values.push(v);
  return values;
}

/** Headers as a plain object, first occurrence winning (for tests and logs, not the hot path). */
export function headersToObject(frame: StompFrame): Record<string, string> {
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [k, v] of frame.headers) if (!(k in out)) out[k] = v;
  return out;
}

/**
 * CONNECT, STOMP and CONNECTED carry no header escaping in any version, so
 * that a 1.0 peer can read them before the version is negotiated.
 */
export function isUnescapedCommand(command: string): boolean {
  return command === 'CONNECT' || command === 'CONNECTED' || command === 'STOMP';
}
