/** What the generated certificates say, apart from generate.ts so reading them loads no node-forge. */
export const CA_COMMON_NAME = 'LocalMQ Local CA';
export const CA_VALIDITY_DAYS = 3650;
/**
 * 397 days: under the 398-day ceiling Chrome and Apple put on TLS server certificates and
 * far under Apple's 825-day ceiling for private CAs, so no client refuses it for its lifetime.
 */
export const SERVER_VALIDITY_DAYS = 397;
