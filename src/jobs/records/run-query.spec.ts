import { parseRunQuery, RunQueryError } from 'src/jobs/records/run-query';

const NOW = new Date('2026-12-07T12:00:00Z');
const parse = (q: string) => parseRunQuery(q, NOW);

function errorOf(q: string): RunQueryError {
  try {
    parse(q);
  } catch (error) {
    if (error instanceof RunQueryError) return error;
    throw error;
  }
  throw new Error(`no error for ${q}`);
}

describe('parseRunQuery', () => {
  it('should parse the example from the issue', () => {
    expect(parse('status:failed image:orcaops/python* duration>30s "Traceback"')).toEqual({
      filters: [
        { field: 'status', values: ['failed'] },
        { field: 'image', pattern: 'orcaops/python*' },
        { field: 'duration', op: '>', ms: 30_000 },
      ],
      text: ['Traceback'],
    });
  });

  it('should parse every field', () => {
    const q = parse(
      'status:failed,timed_out reason:oom_killed fp:0123abcd tag:nightly by:mcp session:0b9c1e0a-1c2d-4e5f-8a9b-0c1d2e3f4a5b ' +
        'exit>0 duration<=2m since:7d until:2026-12-01 created>=2026-11-01T10:00Z meta.Branch:"feature x"',
    );
    expect(q.filters).toEqual([
      { field: 'status', values: ['failed', 'timed_out'] },
      { field: 'reason', values: ['oom_killed'] },
      { field: 'fingerprint', prefix: '0123abcd' },
      { field: 'tag', value: 'nightly' },
      { field: 'triggered_by', value: 'mcp' },
      { field: 'session', value: '0b9c1e0a-1c2d-4e5f-8a9b-0c1d2e3f4a5b' },
      { field: 'exit', op: '>', value: 0 },
      { field: 'duration', op: '<=', ms: 120_000 },
      { field: 'created', op: '>=', at: new Date('2026-11-30T12:00:00Z') },
      { field: 'created', op: '<', at: new Date('2026-12-01T00:00:00Z') },
      { field: 'created', op: '>=', at: new Date('2026-11-01T10:00:00Z') },
      { field: 'meta', key: 'Branch', value: 'feature x' },
    ]);
    expect(q.text).toEqual([]);
  });

  it('should take bare words and quoted phrases (with escapes) as output search, all required', () => {
    expect(parse('ModuleNotFoundError "No module named \\"numpy\\"" ').text).toEqual(['ModuleNotFoundError', 'No module named "numpy"']);
  });

  it('should accept an empty query (every run)', () => {
    expect(parse('   ')).toEqual({ filters: [], text: [] });
  });

  it.each([
    ['status:crashed', 0, 'status:crashed', 'one of awaiting_approval'],
    ['image:orcaops/python duration>3x', 21, 'duration>3x', 'a duration like'],
    ['duration:30s', 0, 'duration:30s', 'a comparison'],
    ['status:failed colour:red', 14, 'colour:red', 'a field:'],
    ['tag:', 0, 'tag:', 'a value after "tag:"'],
    ['status:failed "Traceback', 14, '"Traceback', 'a closing double quote'],
    ['ab', 0, 'ab', 'a search text of 3'],
    ['fp:xyz', 0, 'fp:xyz', '8–64 hex digits'],
    ['session:me', 0, 'session:me', 'a session id'],
    ['since:yesterday', 0, 'since:yesterday', 'a time'],
    ['since:1900-01-01', 0, 'since:1900-01-01', 'a time'],
    ['exit:one', 0, 'exit:one', 'an exit code'],
    ['tag>x', 0, 'tag>x', 'this field takes no comparison'],
    ['meta.:x', 0, 'meta.:x', 'a metadata key'],
  ])('should reject %j at the offending token', (query, position, token, expected) => {
    const error = errorOf(query);
    expect(error.position).toBe(position);
    expect(error.token).toBe(token);
    expect(error.expected).toContain(expected);
    expect(error.message).toContain(`position ${position}`);
  });

  it('should bound the query length and the number of terms', () => {
    expect(errorOf('x'.repeat(1001)).expected).toContain('at most 1000 characters');
    const many = Array.from({ length: 25 }, () => 'tag:a').join(' ');
    const error = errorOf(many);
    expect(error.position).toBe(24 * 6);
    expect(error.expected).toContain('at most 24 terms');
  });

  it('should refuse durations and ages beyond a year', () => {
    expect(errorOf('duration>400d').expected).toContain('a duration');
  });
});
