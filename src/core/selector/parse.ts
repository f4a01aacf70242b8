/**
 * JMS message selectors: the SQL-92 subset of the JMS 1.1 spec (§3.8) as ActiveMQ 5.x
 * accepts it. Parsed once into a tree; evaluated per message with SQL's three-valued
 * logic (null = unknown), a message being selected only when the result is true.
 */
export type Expr =
  | { k: 'lit'; v: string | number | boolean | null }
  | { k: 'id'; name: string }
  | { k: 'not'; e: Expr }
  | { k: 'and' | 'or'; a: Expr; b: Expr }
  | { k: 'cmp'; op: '=' | '<>' | '<' | '>' | '<=' | '>='; a: Expr; b: Expr }
  | { k: 'arith'; op: '+' | '-' | '*' | '/' | '%'; a: Expr; b: Expr }
  | { k: 'neg'; e: Expr }
  | { k: 'like'; e: Expr; re: RegExp; not: boolean }
  | { k: 'in'; e: Expr; list: string[]; not: boolean }
  | { k: 'between'; e: Expr; lo: Expr; hi: Expr; not: boolean }
  | { k: 'null'; e: Expr; not: boolean };

/** a selector that does not parse: ActiveMQ's InvalidSelectorException */
export class InvalidSelectorError extends Error {}

type Tok = { t: 'str'; v: string } | { t: 'num'; v: number } | { t: 'id'; v: string } | { t: 'kw'; v: string } | { t: 'op'; v: string } | { t: 'eof' };

const KEYWORDS = new Set(['AND', 'OR', 'NOT', 'LIKE', 'ESCAPE', 'IN', 'BETWEEN', 'IS', 'NULL', 'TRUE', 'FALSE']);

function lex(src: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  const fail = (why: string): never => {
    throw new InvalidSelectorError(`${why} at position ${i} in selector: ${src}`);
  };
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === "'") {
      let s = '';
      i++;
      for (;;) {
        if (i >= src.length) fail('unterminated string literal');
        if (src[i] === "'") {
          if (src[i + 1] === "'") {
            s += "'";
            i += 2;
            continue;
          }
          i++;
          break;
        }
        s += src[i++];
      }
      out.push({ t: 'str', v: s });
      continue;
    }
    const num = /^(?:0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)[lLfFdD]?/.exec(src.slice(i));
    if (num && /[\d.]/.test(c)) {
      let text = num[0];
      i += text.length;
      text = text.replace(/[lLfFdD]$/, '');
      out.push({ t: 'num', v: /^0[xX]/.test(text) ? parseInt(text, 16) : Number(text) });
      continue;
    }
    const ident = /^[A-Za-z_$][\w$.]*/.exec(src.slice(i));
    if (ident) {
      i += ident[0].length;
      const up = ident[0].toUpperCase();
      out.push(KEYWORDS.has(up) ? { t: 'kw', v: up } : { t: 'id', v: ident[0] });
      continue;
    }
    const op = /^(<>|<=|>=|=|<|>|\+|-|\*|\/|%|\(|\)|,)/.exec(src.slice(i));
    if (op) {
      i += op[0].length;
      out.push({ t: 'op', v: op[0] });
      continue;
    }
    fail(`unexpected character '${c}'`);
  }
  out.push({ t: 'eof' });
  return out;
}

export function parseSelector(src: string): Expr {
  const toks = lex(src);
  let p = 0;
  const peek = () => toks[p]!;
  const fail = (why: string): never => {
    const t = peek();
    throw new InvalidSelectorError(`${why}, found ${describeTok(t)} in selector: ${src}`);
  };
  const isKw = (v: string) => peek().t === 'kw' && (peek() as { v: string }).v === v;
  const isOp = (v: string) => peek().t === 'op' && (peek() as { v: string }).v === v;
  const kw = (v: string) => {
    if (!isKw(v)) fail(`expected ${v}`);
    p++;
  };
  const op = (v: string) => {
    if (!isOp(v)) fail(`expected '${v}'`);
    p++;
  };

  const orExpr = (): Expr => {
    let a = andExpr();
    while (isKw('OR')) {
      p++;
      a = { k: 'or', a, b: andExpr() };
    }
    return a;
  };
  const andExpr = (): Expr => {
    let a = notExpr();
    while (isKw('AND')) {
      p++;
      a = { k: 'and', a, b: notExpr() };
    }
    return a;
  };
  const notExpr = (): Expr => {
    if (isKw('NOT')) {
      p++;
      return { k: 'not', e: notExpr() };
    }
    return comparison();
  };
  const stringLit = (): string => {
    const t = peek();
    if (t.t !== 'str') fail('expected a string literal');
    p++;
    return (t as { v: string }).v;
  };
  const comparison = (): Expr => {
    const a = additive();
    const t = peek();
    if (t.t === 'op' && ['=', '<>', '<', '>', '<=', '>='].includes(t.v)) {
      p++;
      return { k: 'cmp', op: t.v as '=', a, b: additive() };
    }
    let not = false;
    if (isKw('NOT')) {
      p++;
      not = true;
      if (!isKw('LIKE') && !isKw('IN') && !isKw('BETWEEN')) fail('expected LIKE, IN or BETWEEN after NOT');
    }
    if (isKw('LIKE')) {
      p++;
      const pattern = stringLit();
      let escape: string | undefined;
      if (isKw('ESCAPE')) {
        p++;
        escape = stringLit();
        if (escape.length !== 1) fail('ESCAPE takes one character');
      }
      return { k: 'like', e: a, re: likeRegExp(pattern, escape), not };
    }
    if (isKw('IN')) {
      p++;
      op('(');
      const list = [stringLit()];
      while (isOp(',')) {
        p++;
        list.push(stringLit());
      }
      op(')');
      return { k: 'in', e: a, list, not };
    }
    if (isKw('BETWEEN')) {
      p++;
      const lo = additive();
      kw('AND');
      return { k: 'between', e: a, lo, hi: additive(), not };
    }
    if (isKw('IS')) {
      p++;
      let isNot = false;
      if (isKw('NOT')) {
        p++;
        isNot = true;
      }
      kw('NULL');
      return { k: 'null', e: a, not: isNot };
    }
    return a;
  };
  const additive = (): Expr => {
    let a = multiplicative();
    while (isOp('+') || isOp('-')) {
      const o = (toks[p++] as { v: string }).v as '+';
      a = { k: 'arith', op: o, a, b: multiplicative() };
    }
    return a;
  };
  const multiplicative = (): Expr => {
    let a = unary();
    while (isOp('*') || isOp('/') || isOp('%')) {
      const o = (toks[p++] as { v: string }).v as '*';
      a = { k: 'arith', op: o, a, b: unary() };
    }
    return a;
  };
  const unary = (): Expr => {
    if (isOp('-')) {
      p++;
      return { k: 'neg', e: unary() };
    }
    if (isOp('+')) {
      p++;
      return unary();
    }
    return primary();
  };
  const primary = (): Expr => {
    const t = peek();
    switch (t.t) {
      case 'str':
        p++;
        return { k: 'lit', v: t.v };
      case 'num':
        p++;
        return { k: 'lit', v: t.v };
      case 'id':
        p++;
        return { k: 'id', name: t.v };
      case 'kw':
        if (t.v === 'TRUE' || t.v === 'FALSE') {
          p++;
          return { k: 'lit', v: t.v === 'TRUE' };
        }
        if (t.v === 'NULL') {
          p++;
          return { k: 'lit', v: null };
        }
        break;
      case 'op':
        if (t.v === '(') {
          p++;
          const e = orExpr();
          op(')');
          return e;
        }
        break;
    }
    return fail('expected a value');
  };

  if (peek().t === 'eof') fail('empty selector');
  const e = orExpr();
  if (peek().t !== 'eof') fail('unexpected text after the expression');
  return e;
}

function likeRegExp(pattern: string, escape: string | undefined): RegExp {
  let re = '^';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (escape !== undefined && c === escape && i + 1 < pattern.length) {
      re += pattern[++i]!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    } else if (c === '%') re += '[\\s\\S]*';
    else if (c === '_') re += '[\\s\\S]';
    else re += c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(re + '$');
}

function describeTok(t: Tok): string {
  return t.t === 'eof' ? 'the end' : `'${String(t.v)}'`;
}
