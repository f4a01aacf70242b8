/**
 * Inputs for the decoder fuzzers: valid frames (made by each target's structured
 * generator, seeded) run through byte-level mutations, and cut into socket-sized chunks.
 *
 * A corpus of valid streams is drawn once per run (fast-check generators are slow next to
 * the decoders); each fuzz input is then a few integers: which corpus entries to join, which
 * mutations to apply where, and where the chunk boundaries fall. fast-check draws and shrinks
 * those integers, so a crash comes back as a short list of mutations of a known frame.
 */
import fc from 'fast-check';

/** one byte-level change, its positions as fractions of the length so they shrink toward 0 */
export type Mutation =
  | { op: 'flip'; at: number; bit: number }
  | { op: 'set'; at: number; value: number }
  | { op: 'int'; at: number; width: 1 | 2 | 4 | 8; value: number }
  | { op: 'insert'; at: number; bytes: Uint8Array }
  | { op: 'delete'; at: number; length: number }
  | { op: 'duplicate'; at: number; length: number }
  | { op: 'truncate'; at: number }
  | { op: 'splice'; at: number; from: number; length: number };

export interface FuzzInput {
  /** the stream the decoder reads, all chunks together */
  bytes: Buffer;
  /** chunk lengths; the last chunk takes what is left */
  chunks: number[];
  /** which target-specific variant to use (a protocol version, a parser mode) */
  variant: number;
}

/** boundary values a length or count field is most likely to mishandle */
export const INTERESTING = [
  0, 1, 2, 3, 4, 7, 8, 0x10, 0x3f, 0x40, 0x7e, 0x7f, 0x80, 0x81, 0xfe, 0xff, 0x100, 0x3fff, 0x4000, 0x7fff, 0x8000, 0xfffe, 0xffff, 0x10000, 0xfffff,
  0x100000, 0x7fffff, 0xffffff, 0x1000000, 0x7ffffffe, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff,
];

const position = fc.integer({ min: 0, max: 0xffff });

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('flip' as const), at: position, bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ op: fc.constant('set' as const), at: position, value: fc.oneof(fc.constantFrom(0, 0xff, 0x7f, 0x80, 0x0a, 0x0d, 0x3a, 0x5c, 0x00), fc.integer({ min: 0, max: 255 })) }),
  fc.record({
    op: fc.constant('int' as const),
    at: position,
    width: fc.constantFrom(1 as const, 2 as const, 4 as const, 8 as const),
    value: fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...INTERESTING) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffffffff }) }),
  }),
  fc.record({ op: fc.constant('insert' as const), at: position, bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
  fc.record({ op: fc.constant('delete' as const), at: position, length: fc.integer({ min: 1, max: 16 }) }),
  fc.record({ op: fc.constant('duplicate' as const), at: position, length: fc.integer({ min: 1, max: 64 }) }),
  fc.record({ op: fc.constant('truncate' as const), at: position }),
  fc.record({ op: fc.constant('splice' as const), at: position, from: position, length: fc.integer({ min: 1, max: 64 }) }),
);

function index(at: number, length: number): number {
  return length === 0 ? 0 : at % (length + 1);
}

/** apply mutations in order; `donor` is another valid stream to splice from */
export function applyMutations(input: Buffer, mutations: readonly Mutation[], donor: Buffer): Buffer {
  let b = Buffer.from(input);
  for (const m of mutations) {
    const n = b.length;
    const at = index(m.at, n);
    switch (m.op) {
      case 'flip':
        if (at < n) b[at] = b[at]! ^ (1 << m.bit);
        break;
      case 'set':
        if (at < n) b[at] = m.value;
        break;
      case 'int': {
        if (at + m.width > n) break;
        // big-endian, as every protocol here but the MQTT variable-length field writes integers
        let v = m.value;
        for (let i = m.width - 1; i >= 0; i--) {
          b[at + i] = v & 0xff;
          v = Math.floor(v / 256);
        }
        break;
      }
      case 'insert':
        b = Buffer.concat([b.subarray(0, at), m.bytes, b.subarray(at)]);
        break;
      case 'delete':
        b = Buffer.concat([b.subarray(0, at), b.subarray(Math.min(n, at + m.length))]);
        break;
      case 'duplicate':
        b = Buffer.concat([b.subarray(0, Math.min(n, at + m.length)), b.subarray(at, Math.min(n, at + m.length)), b.subarray(Math.min(n, at + m.length))]);
        break;
      case 'truncate':
        b = b.subarray(0, at);
        break;
      case 'splice': {
        const from = index(m.from, donor.length);
        b = Buffer.concat([b.subarray(0, at), donor.subarray(from, from + m.length), b.subarray(at)]);
        break;
      }
    }
  }
  return b;
}

/** cut `bytes` into chunks as `chunks` says (see FuzzInput) */
export function* chunksOf(input: FuzzInput): Generator<Buffer> {
  let at = 0;
  for (const len of input.chunks) {
    if (at >= input.bytes.length) return;
    yield input.bytes.subarray(at, at + len);
    at += len;
  }
  if (at < input.bytes.length) yield input.bytes.subarray(at);
}

/**
 * Fuzz inputs over a corpus of valid streams: 1 to 3 entries joined (a decoder sees frames
 * back to back), 0 to 6 mutations (a quarter of the inputs stay valid, so the decoders'
 * happy paths are exercised under every chunking), 0 to 6 chunk cuts.
 */
export function fuzzInputs(corpus: readonly Buffer[], variants: number): fc.Arbitrary<FuzzInput> {
  const pick = fc.integer({ min: 0, max: corpus.length - 1 });
  return fc
    .record({
      parts: fc.array(pick, { minLength: 1, maxLength: 3 }),
      donor: pick,
      mutations: fc.oneof({ weight: 1, arbitrary: fc.constant([] as Mutation[]) }, { weight: 3, arbitrary: fc.array(mutationArb, { minLength: 1, maxLength: 6 }) }),
      chunks: fc.array(fc.oneof(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 512 })), { maxLength: 6 }),
      variant: fc.integer({ min: 0, max: Math.max(0, variants - 1) }),
    })
    .map(({ parts, donor, mutations, chunks, variant }) => {
      const valid = parts.length === 1 ? corpus[parts[0]!]! : Buffer.concat(parts.map((p) => corpus[p]!));
      return { bytes: mutations.length ? applyMutations(valid, mutations, corpus[donor]!) : valid, chunks, variant };
    });
}

/** a corpus of `size` valid streams drawn from `gen` with a fixed seed */
export function corpusOf(gen: fc.Arbitrary<Buffer>, size: number, seed: number): Buffer[] {
  return fc.sample(gen, { numRuns: size, seed });
}
