import { decodeFieldTable } from './codec/index.js';

export interface Credentials {
  username: string;
  password: string;
}

/**
 * Credentials from connection.start-ok's response. PLAIN is `authzid NUL user NUL pass`;
 * AMQPLAIN is a field table without its length prefix (LOGIN, PASSWORD).
 * Returns undefined when the response cannot be read.
 */
export function parseSaslResponse(mechanism: string, response: Buffer): Credentials | undefined {
  if (mechanism === 'PLAIN') {
    const first = response.indexOf(0);
    if (first < 0) return undefined;
    const second = response.indexOf(0, first + 1);
    if (second < 0) return undefined;
    return { username: response.subarray(first + 1, second).toString(), password: response.subarray(second + 1).toString() };
  }
  if (mechanism === 'AMQPLAIN') {
    try {
      const prefixed = Buffer.allocUnsafe(response.length + 4);
      prefixed.writeUInt32BE(response.length, 0);
      response.copy(prefixed, 4);
      const t = decodeFieldTable(prefixed);
      const login = t['LOGIN'];
      const password = t['PASSWORD'];
      const str = (v: unknown) => (typeof v === 'string' ? v : Buffer.isBuffer(v) ? v.toString() : undefined);
      const u = str(login);
      const p = str(password);
      return u !== undefined && p !== undefined ? { username: u, password: p } : undefined;
    } catch {
      return undefined;
    }
  }
  return undefined;
}
