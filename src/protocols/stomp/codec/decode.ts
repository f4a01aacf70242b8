/**
 * Byte-range to string decoding for the parser's hot path. Buffer#toString
 * re-validates its arguments and dispatches on the encoding name on every
 * call; for the many short header strings of a frame that overhead is as big
 * as the decoding itself. Node's Buffer has long carried the underlying
 * latin1Slice/utf8Slice methods (toString calls them); they are used when
 * present, with toString as the fallback.
 */
interface SliceMethods {
  latin1Slice(start: number, end: number): string;
  utf8Slice(start: number, end: number): string;
}

const proto = Buffer.prototype as unknown as Partial<SliceMethods>;
const hasSliceMethods = typeof proto.latin1Slice === 'function' && typeof proto.utf8Slice === 'function';

/** Decodes buf[start, end) as UTF-8; `ascii` says every byte is < 0x80, which allows the cheaper latin1 decoder. */
export const decodeRange: (buf: Buffer, start: number, end: number, ascii: boolean) => string = hasSliceMethods
  ? (buf, start, end, ascii) => {
      if (start === end) return '';
      const b = buf as unknown as SliceMethods;
      return ascii ? b.latin1Slice(start, end) : b.utf8Slice(start, end);
    }
  : (buf, start, end, ascii) => (start === end ? '' : buf.toString(ascii ? 'latin1' : 'utf8', start, end));
