import { installedVersion } from 'src/images/debian-packages';

const STATUS = `Package: python3-minimal
Status: install ok installed
Version: 3.11.2-1+b1

Package: python3
Status: install ok installed
Priority: optional
Version: 3.11.2-1+b1
Depends: python3.11 (>= 3.11.2-1~)

Package: python3.11
Version: 3.11.2-6+deb12u6
`;

describe('installedVersion', () => {
  it('reads the Version of the exact package', () => {
    expect(installedVersion(STATUS, 'python3')).toBe('3.11.2-1+b1');
    expect(installedVersion(STATUS, 'python3.11')).toBe('3.11.2-6+deb12u6');
  });

  it('is undefined for a package that is not there', () => {
    expect(installedVersion(STATUS, 'perl')).toBeUndefined();
  });
});
