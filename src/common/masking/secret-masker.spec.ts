import { encodingsOf, MASK, SecretMasker } from 'src/common/masking/secret-masker';

const SECRET = 'hunter2-s3cr3t/value+"x"';

function streamAll(masker: SecretMasker, chunks: string[]): string {
  const stream = masker.stream();
  const out = chunks.map((c) => stream.push(Buffer.from(c)));
  out.push(stream.end());
  return Buffer.concat(out).toString('utf8');
}

describe('SecretMasker', () => {
  const masker = new SecretMasker([SECRET]);

  it('masks the value and each common encoding', () => {
    for (const form of encodingsOf(SECRET)) {
      expect(masker.maskText(`before ${form} after`)).toBe(`before ${MASK} after`);
    }
    expect(masker.maskText(JSON.stringify({ token: SECRET }))).toBe(`{"token":"${MASK}"}`);
    // What `echo "$TOKEN" | base64` and `| xxd -p -u`-style tools print.
    expect(masker.maskText(`${Buffer.from(`${SECRET}\n`).toString('base64')}\n`)).toBe(`${MASK}\n`);
    expect(masker.maskText(Buffer.from(SECRET).toString('hex').toUpperCase())).toBe(MASK);
  });

  it('leaves values shorter than four characters alone', () => {
    const short = new SecretMasker(['abc']);
    expect(short.empty).toBe(true);
    expect(short.maskText('abc abc')).toBe('abc abc');
  });

  it('masks every occurrence, overlapping forms leftmost-longest', () => {
    expect(masker.maskText(`${SECRET}${SECRET} and ${SECRET}`)).toBe(`${MASK}${MASK} and ${MASK}`);
    const nested = new SecretMasker(['abcd', 'abcdef']);
    expect(nested.maskText('xabcdefy abcdz')).toBe(`x${MASK}y ${MASK}z`);
  });

  it('masks a value split across two chunks at every split point', () => {
    const text = `line one\ntoken=${SECRET}\nline three\n`;
    for (let cut = 1; cut < text.length; cut++) {
      expect(streamAll(masker, [text.slice(0, cut), text.slice(cut)])).toBe(`line one\ntoken=${MASK}\nline three\n`);
    }
  });

  it('masks a value split into single bytes, and an encoded value split in three', () => {
    const text = `a ${SECRET} b`;
    expect(streamAll(masker, [...text])).toBe(`a ${MASK} b`);
    const b64 = Buffer.from(SECRET).toString('base64');
    expect(streamAll(masker, [`x${b64.slice(0, 5)}`, b64.slice(5, 20), `${b64.slice(20)}y`])).toBe(`x${MASK}y`);
  });

  it('holds back only what could begin a value, and releases an unfinished prefix at the end', () => {
    const stream = masker.stream();
    expect(stream.push(Buffer.from('plain output\n')).toString()).toBe('plain output\n');
    expect(stream.push(Buffer.from(`tail ${SECRET.slice(0, 6)}`)).toString()).toBe('tail ');
    expect(stream.held).toBe(6);
    expect(stream.end().toString()).toBe(SECRET.slice(0, 6));
  });

  it('keeps memory bounded by the longest form on a long stream', () => {
    const stream = masker.stream();
    for (let i = 0; i < 1000; i++) stream.push(Buffer.from(SECRET.slice(0, 10)));
    expect(stream.held).toBeLessThan(masker.maxLength);
  });

  it('masks strings deep inside a result object', () => {
    expect(masker.maskValue({ a: [SECRET, 1], b: { c: `x${SECRET}` } })).toEqual({ a: [MASK, 1], b: { c: `x${MASK}` } });
  });
});
