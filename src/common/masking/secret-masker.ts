/**
 * Masks secret values in output: the exact value and its common encodings (base64, URL-encoded,
 * JSON-escaped, hex) become `***`. Values shorter than MIN_MASKED_LENGTH are not masked: masking
 * `a` or `42` would rewrite ordinary output everywhere (and the gaps would reveal the value anyway);
 * such values are not secret in practice, and docs/secrets.md says so.
 */
export const MIN_MASKED_LENGTH = 4;
export const MASK = '***';
const MASK_BYTES = Buffer.from(MASK);

/** Every form of `value` that is masked. */
export function encodingsOf(value: string): string[] {
  const base64 = Buffer.from(value, 'utf8').toString('base64');
  // `echo "$TOKEN" | base64` encodes the value with echo's newline: a different string from the value's own base64.
  const echoed = Buffer.from(`${value}\n`, 'utf8').toString('base64');
  const hex = Buffer.from(value, 'utf8').toString('hex');
  return [
    value,
    base64,
    base64.replace(/=+$/, ''),
    echoed,
    echoed.replace(/=+$/, ''),
    Buffer.from(value, 'utf8').toString('base64url'),
    encodeURIComponent(value),
    encodeURIComponent(value).replace(/%20/g, '+'),
    JSON.stringify(value).slice(1, -1),
    hex,
    hex.toUpperCase(),
  ];
}

interface Match {
  start: number;
  end: number;
}

export class SecretMasker {
  private readonly needles: Buffer[];
  /** The longest needle, in bytes: a stream holds back at most this minus one. */
  readonly maxLength: number;

  constructor(values: Iterable<string>) {
    const forms = new Set<string>();
    for (const value of values) {
      if (value.length < MIN_MASKED_LENGTH) continue;
      for (const form of encodingsOf(value)) if (form.length >= MIN_MASKED_LENGTH) forms.add(form);
    }
    this.needles = [...forms].map((f) => Buffer.from(f, 'utf8')).sort((a, b) => b.length - a.length);
    this.maxLength = this.needles[0]?.length ?? 0;
  }

  static readonly none = new SecretMasker([]);

  get empty(): boolean {
    return this.needles.length === 0;
  }

  /** Masks a whole text (messages, summaries, results). */
  maskText(text: string): string {
    if (this.empty) return text;
    return this.maskBuffer(Buffer.from(text, 'utf8')).toString('utf8');
  }

  maskBuffer(data: Buffer): Buffer {
    if (this.empty) return data;
    return replace(data, this.matches(data), data.length);
  }

  /** Masks deep inside a JSON-like value (every string, including object keys' values). */
  maskValue<T>(value: T): T {
    if (this.empty) return value;
    if (typeof value === 'string') return this.maskText(value) as T;
    if (Array.isArray(value)) return value.map((v: unknown) => this.maskValue(v)) as T;
    if (value && typeof value === 'object' && !(value instanceof Date) && !Buffer.isBuffer(value)) {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.maskValue(v)])) as T;
    }
    return value;
  }

  /** A masker for one output stream, which may split a value across chunks. */
  stream(): MaskingStream {
    return new MaskingStream(this);
  }

  /** Leftmost-longest, non-overlapping occurrences of any needle. */
  matches(data: Buffer): Match[] {
    const found: Match[] = [];
    for (const needle of this.needles) {
      for (let at = data.indexOf(needle); at !== -1; at = data.indexOf(needle, at + 1)) found.push({ start: at, end: at + needle.length });
    }
    found.sort((a, b) => a.start - b.start || b.end - a.end);
    const chosen: Match[] = [];
    let covered = 0;
    for (const m of found) {
      if (m.start < covered) continue;
      chosen.push(m);
      covered = m.end;
    }
    return chosen;
  }

  /** How many trailing bytes of `data` could be the start of a needle (held back until more arrives). */
  heldTail(data: Buffer): number {
    let hold = 0;
    for (const needle of this.needles) {
      for (let k = Math.min(needle.length - 1, data.length); k > hold; k--) {
        const from = data.length - k;
        if (data[from] === needle[0] && data.compare(needle, 0, k, from) === 0) {
          hold = k;
          break;
        }
      }
    }
    return hold;
  }
}

function replace(data: Buffer, matches: Match[], upTo: number): Buffer {
  if (!matches.length) return data.subarray(0, upTo);
  const parts: Buffer[] = [];
  let at = 0;
  for (const m of matches) {
    if (m.end > upTo) break;
    parts.push(data.subarray(at, m.start), MASK_BYTES);
    at = m.end;
  }
  parts.push(data.subarray(at, upTo));
  return Buffer.concat(parts);
}

/**
 * One stream's masking: each chunk is masked with the bytes held back from the one before, and the
 * trailing bytes that could begin a value (at most the longest form minus one) are held back for the
 * next chunk. Memory is bounded by that tail; end() releases it.
 */
export class MaskingStream {
  private tail: Buffer = Buffer.alloc(0);

  constructor(private readonly masker: SecretMasker) {}

  push(chunk: Buffer): Buffer {
    if (this.masker.empty) return chunk;
    const data = this.tail.length ? Buffer.concat([this.tail, chunk]) : chunk;
    const matches = this.masker.matches(data);
    let cut = data.length - this.masker.heldTail(data);
    // A value that starts before the cut is complete in `data` (the cut is at most maxLength-1 from the end): mask it whole.
    for (const m of matches) if (m.start < cut && m.end > cut) cut = m.end;
    const out = replace(data, matches, cut);
    this.tail = Buffer.from(data.subarray(cut));
    return out;
  }

  /** The held-back bytes (a prefix of a value that never completed: not a secret, released as is). */
  end(): Buffer {
    const rest = this.tail;
    this.tail = Buffer.alloc(0);
    return rest;
  }

  get held(): number {
    return this.tail.length;
  }
}
