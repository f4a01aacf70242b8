import { parseSaslResponse } from '../amqp/sasl.js';
import type { AuthenticatedUser, ProtocolContext } from '../context.js';
import type { Composite } from './codec/composites.js';
import { Amqp10Error, Condition } from './codec/errors.js';

/** sasl-outcome codes (part 5.3.3.6) */
export const SaslCode = { ok: 0, auth: 1, sys: 2, sysPerm: 3, sysTemp: 4 } as const;

/**
 * The SASL layer: PLAIN against the broker's users, ANONYMOUS as RabbitMQ 4 has it
 * (it logs in as the anonymous login user, guest/guest, so it works exactly where guest
 * may log in: a broker that still has guest, from loopback). AMQPLAIN as RabbitMQ offers it.
 */
export class SaslServer {
  constructor(
    private readonly ctx: ProtocolContext,
    private readonly remoteAddress: string | undefined,
  ) {}

  mechanisms(): string[] {
    return ['PLAIN', 'AMQPLAIN', 'ANONYMOUS'];
  }

  /** ANONYMOUS, or a client that skipped SASL altogether */
  anonymous(): AuthenticatedUser | undefined {
    const r = this.ctx.access.authenticate('guest', 'guest', this.remoteAddress);
    return r.ok ? r.user : undefined;
  }

  step(frame: Composite): { code: number; user?: AuthenticatedUser; reason?: string; challenge?: Buffer } {
    if (frame.$ !== 'sasl-init') throw new Amqp10Error(Condition.illegalState, `unexpected SASL frame ${frame.$}`);
    const mechanism = frame['mechanism'] as string;
    const response = (frame['initialResponse'] as Buffer | undefined) ?? Buffer.alloc(0);
    if (mechanism === 'ANONYMOUS') {
      const user = this.anonymous();
      return user ? { code: SaslCode.ok, user } : { code: SaslCode.auth, reason: 'anonymous login refused' };
    }
    if (mechanism !== 'PLAIN' && mechanism !== 'AMQPLAIN') return { code: SaslCode.auth, reason: `unsupported mechanism ${mechanism}` };
    const creds = parseSaslResponse(mechanism, response);
    if (!creds) return { code: SaslCode.auth, reason: `malformed ${mechanism} response` };
    const r = this.ctx.access.authenticate(creds.username, creds.password, this.remoteAddress);
    if (!r.ok) return { code: SaslCode.auth, reason: `user '${creds.username}': ${r.reason}` };
    return { code: SaslCode.ok, user: r.user };
  }
}
