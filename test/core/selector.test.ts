import { describe, expect, it } from 'vitest';
import type { Message } from '../../src/core/message.js';
import { InvalidSelectorError, Selector } from '../../src/core/selector/index.js';

const msg = (headers: Record<string, unknown>, extra: Partial<Message['properties']> = {}): Message => ({
  exchange: '',
  routingKey: 'q',
  properties: { headers: headers as never, deliveryMode: 2, priority: 6, correlationId: 'abc', type: 'order', ...extra },
  body: Buffer.alloc(0),
  publishedAt: 1000,
});

const sel = (text: string, m: Message, deliveryCount = 0) => new Selector(text).matches(m, deliveryCount);

describe('JMS selectors (the SQL-92 subset ActiveMQ accepts)', () => {
  const m = msg({ color: 'red', n: 5, price: 2.5, flag: true, code: 'A_1%', big: 10n });

  it('comparisons, AND / OR / NOT and arithmetic', () => {
    expect(sel("color = 'red'", m)).toBe(true);
    expect(sel("color <> 'red'", m)).toBe(false);
    expect(sel('n > 4 AND n <= 5', m)).toBe(true);
    expect(sel('n < 4 OR price >= 2.5', m)).toBe(true);
    expect(sel('NOT (n = 5)', m)).toBe(false);
    expect(sel('n * 2 + 1 = 11', m)).toBe(true);
    expect(sel('-n = -5', m)).toBe(true);
    expect(sel('n / 2 = 2.5', m)).toBe(true);
    expect(sel('flag = TRUE', m)).toBe(true);
    expect(sel('flag', m)).toBe(true);
    expect(sel('big = 10', m)).toBe(true);
  });

  it('LIKE with % and _ and ESCAPE, IN, BETWEEN, IS [NOT] NULL', () => {
    expect(sel("color LIKE 'r%'", m)).toBe(true);
    expect(sel("color LIKE 'r_d'", m)).toBe(true);
    expect(sel("color NOT LIKE 'b%'", m)).toBe(true);
    expect(sel("code LIKE 'A\\_1\\%' ESCAPE '\\'", m)).toBe(true);
    expect(sel("code LIKE 'A\\_2%' ESCAPE '\\'", m)).toBe(false);
    expect(sel("color IN ('green', 'red')", m)).toBe(true);
    expect(sel("color NOT IN ('green', 'red')", m)).toBe(false);
    expect(sel('n BETWEEN 1 AND 5', m)).toBe(true);
    expect(sel('n NOT BETWEEN 1 AND 5', m)).toBe(false);
    expect(sel('missing IS NULL', m)).toBe(true);
    expect(sel('color IS NOT NULL', m)).toBe(true);
  });

  it("three-valued logic: a missing property is unknown, and only true selects", () => {
    expect(sel("missing = 'x'", m)).toBe(false);
    expect(sel("NOT (missing = 'x')", m)).toBe(false);
    expect(sel("missing = 'x' OR color = 'red'", m)).toBe(true);
    expect(sel("missing = 'x' AND color = 'red'", m)).toBe(false);
    // values of different types never compare equal (ActiveMQ)
    expect(sel("n = '5'", m)).toBe(false);
  });

  it('JMS headers by name', () => {
    expect(sel("JMSDeliveryMode = 'PERSISTENT'", m)).toBe(true);
    expect(sel('JMSPriority > 5', m)).toBe(true);
    expect(sel("JMSCorrelationID = 'abc'", m)).toBe(true);
    expect(sel("JMSType = 'order'", m)).toBe(true);
    expect(sel('JMSRedelivered = FALSE', m)).toBe(true);
    expect(sel('JMSXDeliveryCount = 2', m, 1)).toBe(true);
    expect(sel("JMSMessageID IS NULL", m)).toBe(true);
  });

  it("string literals with doubled quotes, hex and exponent numbers, case-insensitive keywords", () => {
    expect(sel("name = 'it''s'", msg({ name: "it's" }))).toBe(true);
    expect(sel('n = 0x5', m)).toBe(true);
    expect(sel('price = 25e-1', m)).toBe(true);
    expect(sel("color = 'red' and n = 5", m)).toBe(true);
  });

  it('refuses what does not parse with InvalidSelectorError', () => {
    for (const bad of ["color = = 'x'", 'n >', "color LIKE red", "'unterminated", 'n IN (1, 2)', '(n = 1', '', 'n = 1 garbage']) {
      expect(() => new Selector(bad), bad).toThrow(InvalidSelectorError);
    }
  });
});
