import { imageLikePattern, logSearchPattern } from 'src/jobs/records/log-pattern';

describe('logSearchPattern', () => {
  it('should wrap plain ASCII in %…%', () => {
    expect(logSearchPattern('Traceback (most recent')).toBe('%Traceback (most recent%');
  });

  it('should escape LIKE specials so they match literally', () => {
    expect(logSearchPattern('100%_done')).toBe('%100\\%\\_done%');
  });

  it("should encode backslashes and non-ASCII bytes as encode(data, 'escape') writes them, then LIKE-escape", () => {
    // encode('C:\x', 'escape') = 'C:\\x'; as a LIKE pattern each backslash is escaped again.
    expect(logSearchPattern('C:\\x')).toBe('%C:\\\\\\\\x%');
    // é is C3 A9 in UTF-8: \303\251 in escape encoding.
    expect(logSearchPattern('é')).toBe('%\\\\303\\\\251%');
  });
});

describe('imageLikePattern', () => {
  it('should turn * into % and keep % and _ literal', () => {
    expect(imageLikePattern('orcaops/python*')).toBe('orcaops/python%');
    expect(imageLikePattern('my_img%')).toBe('my\\_img\\%');
  });
});
