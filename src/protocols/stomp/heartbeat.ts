import { StompError } from './errors.js';

/**
 * heart-beat negotiation as RabbitMQ does it (rabbit_stomp_processor:
 * ensure_heartbeats): the client's `cx,cy` says it can send every cx ms and
 * wants to hear from us every cy ms. Each side's period is rounded to whole
 * seconds (anything below a second becomes one), 0 meaning none; CONNECTED
 * answers `send,receive` from the server's side.
 */
export interface HeartbeatPlan {
  /** how often the server must send something; 0 = never */
  sendMs: number;
  /** how often the client promised to send something; 0 = not watched */
  receiveMs: number;
}

export function negotiateHeartbeat(header: string | undefined): HeartbeatPlan {
  if (header === undefined) return { sendMs: 0, receiveMs: 0 };
  const m = /^\s*(\d+)\s*,\s*(\d+)\s*$/.exec(header);
  if (!m) throw new StompError('Invalid header', `heart-beat header '${header}' must be two non-negative integers separated by a comma\n`);
  const cx = Number(m[1]);
  const cy = Number(m[2]);
  return { sendMs: roundToSeconds(cy), receiveMs: roundToSeconds(cx) };
}

function roundToSeconds(ms: number): number {
  if (ms <= 0) return 0;
  if (ms < 1000) return 1000;
  return Math.floor(ms / 1000) * 1000;
}
