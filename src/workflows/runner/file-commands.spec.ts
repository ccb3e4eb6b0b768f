import { parseFileCommands, parsePathFile } from 'src/workflows/runner/file-commands';

describe('parseFileCommands', () => {
  it('reads NAME=VALUE lines, empty values, and lets a later assignment win', () => {
    expect(parseFileCommands('a=1\n\nb=\nc=x=y\na=2\n')).toEqual({ ok: true, values: { a: '2', b: '', c: 'x=y' } });
  });

  it('reads heredocs with multi-line values and random delimiters, without the last newline', () => {
    const text = 'tags<<EOF_12ab\nline 1\nline 2\nEOF_12ab\nnext=ok\n';
    expect(parseFileCommands(text)).toEqual({ ok: true, values: { tags: 'line 1\nline 2', next: 'ok' } });
  });

  it('takes = before << as a plain assignment', () => {
    expect(parseFileCommands('a=b<<c\n')).toEqual({ ok: true, values: { a: 'b<<c' } });
  });

  it('fails with the runner wording on bad lines', () => {
    expect(parseFileCommands('oops\n')).toEqual({ ok: false, error: "Invalid format 'oops'" });
    expect(parseFileCommands('x<<END\nvalue\n')).toEqual({ ok: false, error: "Matching delimiter not found 'END'" });
    expect(parseFileCommands('=v\n')).toMatchObject({ ok: false });
    expect(parseFileCommands('x<<\n')).toMatchObject({ ok: false });
  });

  it('keeps a CR as part of the value (Linux runner behaviour)', () => {
    expect(parseFileCommands('a=1\r\n')).toEqual({ ok: true, values: { a: '1\r' } });
  });
});

describe('parsePathFile', () => {
  it('returns one directory per non-empty line', () => {
    expect(parsePathFile('/opt/a/bin\n\n /opt/b \n')).toEqual(['/opt/a/bin', '/opt/b']);
  });
});
