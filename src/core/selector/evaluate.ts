import type { Expr } from './parse.js';

type V = string | number | boolean | null;

/** the value of an identifier: a JMS header or a message property; undefined is null */
export type Lookup = (name: string) => unknown;

function norm(v: unknown): V {
  if (v === undefined || v === null) return null;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  return null;
}

/** SQL's three-valued logic: true, false, or null (unknown) */
export function evaluate(e: Expr, get: Lookup): V {
  switch (e.k) {
    case 'lit':
      return e.v;
    case 'id':
      return norm(get(e.name));
    case 'not': {
      const v = evaluate(e.e, get);
      return typeof v === 'boolean' ? !v : null;
    }
    case 'and': {
      const a = evaluate(e.a, get);
      if (a === false) return false;
      const b = evaluate(e.b, get);
      if (b === false) return false;
      return a === true && b === true ? true : null;
    }
    case 'or': {
      const a = evaluate(e.a, get);
      if (a === true) return true;
      const b = evaluate(e.b, get);
      if (b === true) return true;
      return a === false && b === false ? false : null;
    }
    case 'cmp': {
      const a = evaluate(e.a, get);
      const b = evaluate(e.b, get);
      if (a === null || b === null) return null;
      if (typeof a !== typeof b) return false; // ActiveMQ: values of different types never compare
      if (e.op === '=') return a === b;
      if (e.op === '<>') return a !== b;
      if (typeof a === 'boolean') return null;
      switch (e.op) {
        case '<':
          return a < b;
        case '>':
          return a > b;
        case '<=':
          return a <= b;
        case '>=':
          return a >= b;
      }
      return null;
    }
    case 'arith': {
      const a = evaluate(e.a, get);
      const b = evaluate(e.b, get);
      if (typeof a !== 'number' || typeof b !== 'number') return null;
      switch (e.op) {
        case '+':
          return a + b;
        case '-':
          return a - b;
        case '*':
          return a * b;
        case '/':
          return b === 0 ? null : a / b;
        case '%':
          return b === 0 ? null : a % b;
      }
      return null;
    }
    case 'neg': {
      const v = evaluate(e.e, get);
      return typeof v === 'number' ? -v : null;
    }
    case 'like': {
      const v = evaluate(e.e, get);
      if (typeof v !== 'string') return null;
      const m = e.re.test(v);
      return e.not ? !m : m;
    }
    case 'in': {
      const v = evaluate(e.e, get);
      if (typeof v !== 'string') return null;
      const m = e.list.includes(v);
      return e.not ? !m : m;
    }
    case 'between': {
      const v = evaluate(e.e, get);
      const lo = evaluate(e.lo, get);
      const hi = evaluate(e.hi, get);
      if (typeof v !== 'number' || typeof lo !== 'number' || typeof hi !== 'number') return null;
      const m = v >= lo && v <= hi;
      return e.not ? !m : m;
    }
    case 'null': {
      const v = evaluate(e.e, get);
      return e.not ? v !== null : v === null;
    }
  }
}
