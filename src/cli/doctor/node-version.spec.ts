import { requiredNodeRange, satisfiesRange } from 'src/cli/doctor/node-version';

describe('satisfiesRange', () => {
  it.each([
    ['20.20.2', '>=20.19', true],
    ['20.19.0', '>=20.19', true],
    ['20.18.9', '>=20.19', false],
    ['v22.1.0', '>=20.19 <23', true],
    ['23.0.0', '>=20.19 <23', false],
    ['20.19.0', '>20.19', false],
  ])('%s against %s is %s', (version, range, expected) => {
    expect(satisfiesRange(version, range)).toBe(expected);
  });

  it('does not guess at ranges it does not understand', () => {
    expect(satisfiesRange('20.0.0', '^20 || ^22')).toBeUndefined();
    expect(satisfiesRange('20.0.0', '')).toBeUndefined();
  });
});

describe('requiredNodeRange', () => {
  it("reads this checkout's engines.node", () => {
    expect(requiredNodeRange()).toMatch(/^>=\d+/);
  });
});
