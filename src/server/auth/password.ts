import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { UserDef } from '../../store/store.js';

export type HashingAlgorithm = UserDef['hashingAlgorithm'];

export const DEFAULT_HASHING_ALGORITHM: HashingAlgorithm = 'rabbit_password_hashing_sha256';

const DIGESTS: Record<HashingAlgorithm, string> = {
  rabbit_password_hashing_sha256: 'sha256',
  rabbit_password_hashing_sha512: 'sha512',
  rabbit_password_hashing_md5: 'md5',
};

/** RabbitMQ's salt is always 4 bytes (rabbit_password:generate_salt/0) */
const SALT_LENGTH = 4;

export function isHashingAlgorithm(value: unknown): value is HashingAlgorithm {
  return typeof value === 'string' && Object.hasOwn(DIGESTS, value);
}

function toBytes(password: string | Uint8Array): Buffer {
  return typeof password === 'string' ? Buffer.from(password, 'utf8') : Buffer.from(password);
}

function saltedDigest(algorithm: HashingAlgorithm, salt: Buffer, password: Buffer): Buffer {
  return createHash(DIGESTS[algorithm]).update(salt).update(password).digest();
}

/**
 * Hash a password the way RabbitMQ stores it: base64(salt ++ H(salt ++ password)),
 * so the result can go into a definitions file RabbitMQ will import.
 */
export function hashPassword(
  password: string | Uint8Array,
  algorithm: HashingAlgorithm = DEFAULT_HASHING_ALGORITHM,
  salt: Uint8Array = randomBytes(SALT_LENGTH),
): string {
  if (salt.length !== SALT_LENGTH) throw new Error(`password salt must be ${SALT_LENGTH} bytes`);
  const saltBytes = Buffer.from(salt);
  return Buffer.concat([saltBytes, saltedDigest(algorithm, saltBytes, toBytes(password))]).toString('base64');
}

/**
 * Check a password against a stored RabbitMQ hash. An empty or malformed hash never
 * matches: RabbitMQ stores "" for users that may only log in by certificate.
 */
export function verifyPassword(
  password: string | Uint8Array,
  passwordHash: string,
  algorithm: HashingAlgorithm = DEFAULT_HASHING_ALGORITHM,
): boolean {
  if (!isHashingAlgorithm(algorithm)) return false;
  const stored = Buffer.from(passwordHash, 'base64');
  if (stored.length <= SALT_LENGTH) return false;
  const salt = stored.subarray(0, SALT_LENGTH);
  const expected = stored.subarray(SALT_LENGTH);
  const actual = saltedDigest(algorithm, salt, toBytes(password));
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}
