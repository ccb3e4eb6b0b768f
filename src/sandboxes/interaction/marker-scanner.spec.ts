import { MarkerScanner } from 'src/sandboxes/interaction/marker-scanner';

describe('MarkerScanner', () => {
  const feed = (s: MarkerScanner, ...chunks: string[]): { out: string; line?: string } => {
    let out = '';
    let line: string | undefined;
    for (const c of chunks) {
      const r = s.push(Buffer.from(c));
      out += r.data.toString();
      line ??= r.line;
    }
    return { out, line };
  };

  it('separates output from the marker line, whatever the chunking', () => {
    const text = 'hello\nworld\n__m__ 0 /tmp\n';
    for (let cut = 0; cut <= text.length; cut++) {
      const s = new MarkerScanner();
      s.expect('__m__');
      expect(feed(s, text.slice(0, cut), text.slice(cut))).toEqual({ out: 'hello\nworld', line: ' 0 /tmp' });
    }
  });

  it('keeps output that only looks like the start of the marker', () => {
    const s = new MarkerScanner();
    s.expect('__m__');
    expect(feed(s, 'a\n__x', '\n__m__ 1 /\n')).toEqual({ out: 'a\n__x', line: ' 1 /' });
  });

  it('releases a held-back newline to a reader and still finds the marker after it', () => {
    const s = new MarkerScanner();
    s.expect('__m__');
    expect(feed(s, 'start\n').out).toBe('start');
    expect(s.release().toString()).toBe('\n');
    expect(feed(s, '\n__m__ 0 /\n')).toEqual({ out: '', line: ' 0 /' });
  });

  it('returns what followed the marker line in the same chunk', () => {
    const s = new MarkerScanner();
    s.expect('__m__');
    const r = s.push(Buffer.from('out\n__m__ S\nnext'));
    expect([r.data.toString(), r.line, r.rest?.toString()]).toEqual(['out', ' S', 'next']);
  });

  it('passes data through when no marker is expected', () => {
    expect(new MarkerScanner().push(Buffer.from('x')).data.toString()).toBe('x');
  });
});

describe('MarkerScanner bounds', () => {
  it('does not hold back endless bytes after a marker-like prefix without a newline', () => {
    const s = new MarkerScanner();
    s.expect('__m__');
    const first = s.push(Buffer.from('out\n__m__'));
    expect(first.data.toString()).toBe('out');
    const flood = s.push(Buffer.alloc(100 * 1024, 'x'));
    expect(flood.line).toBeUndefined();
    expect(flood.data.length).toBe('\n__m__'.length + 100 * 1024);
  });
});
