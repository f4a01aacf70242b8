/**
 * Values of an AMQP field table, as the core holds them. The AMQP codec decodes
 * into these and encodes from them; STOMP and MQTT headers map onto strings.
 * Integers that do not fit a JS number safely come back as bigint.
 */
export type FieldValue =
  | null
  | undefined
  | boolean
  | number
  | bigint
  | string
  | Buffer
  | Date
  | Decimal
  | FieldValue[]
  | FieldTable;

export interface FieldTable {
  [key: string]: FieldValue;
}

export class Decimal {
  constructor(
    readonly scale: number,
    readonly value: number,
  ) {}
}
