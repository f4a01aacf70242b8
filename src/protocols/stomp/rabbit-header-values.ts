import { getHeader, type StompFrame } from './codec/index.js';
import { processingError } from './errors.js';

/**
 * Header values as RabbitMQ's STOMP plugin reads them, refusing what it cannot read the way the
 * plugin does: by crashing the frame's handling (`Processing error`, see processingError).
 */

/**
 * rabbit_stomp_frame:integer_header: `list_to_integer(string:strip(V))`, so spaces around it and a
 * sign are taken (`+5`, ` 5 ` are 5) and anything else, the empty value too, crashes. RabbitMQ 3.10.8
 * asked (/tmp/s18-fidelity/pe-cases.mjs): priority `abc` and `''` Processing error; ` 5`, `+5` taken as
 * 5; `300` and `-1` taken as they are; prefetch-count ` 2 ` taken.
 */
export function rabbitInteger(value: string): number {
  if (!INTEGER.test(value)) throw processingError();
  return Number(value.trim());
}
const INTEGER = /^ *[+-]?\d+ *$/;

/** rabbit_stomp_frame:boolean_header: `true` / `True` and `false` / `False`, anything else as if absent */
export function rabbitBoolean(value: string | undefined): boolean | undefined {
  if (value === 'true' || value === 'True') return true;
  if (value === 'false' || value === 'False') return false;
  return undefined;
}

/**
 * The durability a declared queue gets from the frame (rabbit_stomp_util:build_params: `durable` and its alias
 * `persistent`; of a name sent twice the first counts, as the parser keeps it; of the two names the LAST in the
 * frame decides, review-s18-2 F1, 3.10.8 asked: durable:false then persistent:true -> durable; persistent:true then
 * durable:false -> exclusive; persistent:true then durable:maybe -> Processing error, the other way round taken).
 * Undefined when neither is there. Asked only where the plugin declares: the deciding value, when no boolean,
 * becomes `undefined` there and the declaration crashes on it (3.10.8 asked, /tmp/s18-fidelity/pe-cases2.mjs: SEND
 * or SUBSCRIBE to a new /queue/q, or SUBSCRIBE to a /topic, with durable:maybe or persistent:maybe -> Processing
 * error, nothing declared; a SEND to a queue the connection declared already, or to /topic or /amq/queue, is taken).
 */
export function declaredDurability(frame: StompFrame): boolean | undefined {
  let deciding: string | undefined;
  let durableSeen = false;
  let persistentSeen = false;
  for (const [name, value] of frame.headers) {
    if (name === 'durable' && !durableSeen) {
      durableSeen = true;
      deciding = value;
    } else if (name === 'persistent' && !persistentSeen) {
      persistentSeen = true;
      deciding = value;
    }
  }
  if (deciding === undefined) return undefined;
  const b = rabbitBoolean(deciding);
  if (b === undefined) throw processingError();
  return b;
}

/** an integer header, absent: undefined */
export function rabbitIntegerHeader(frame: StompFrame, name: string): number | undefined {
  const v = getHeader(frame, name);
  return v === undefined ? undefined : rabbitInteger(v);
}
