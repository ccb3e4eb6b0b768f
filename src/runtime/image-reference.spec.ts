import { digestFor, InvalidImageReference, parseImageReference, pinnedReference } from 'src/runtime/image-reference';

const D = `sha256:${'a'.repeat(64)}`;

describe('parseImageReference', () => {
  it.each([
    ['python', 'docker.io', 'docker.io/library/python:latest'],
    ['python:3.12-slim', 'docker.io', 'docker.io/library/python:3.12-slim'],
    ['orcaops/python', 'docker.io', 'docker.io/orcaops/python:latest'],
    ['index.docker.io/library/node:20', 'docker.io', 'docker.io/library/node:20'],
    ['ghcr.io/acme/tool', 'ghcr.io', 'ghcr.io/acme/tool:latest'],
    ['127.0.0.1:5000/team/app:v1', '127.0.0.1:5000', '127.0.0.1:5000/team/app:v1'],
    ['localhost/app', 'localhost', 'localhost/app:latest'],
    [`127.0.0.1:5000/app@${D}`, '127.0.0.1:5000', `127.0.0.1:5000/app@${D}`],
    [`app:v1@${D}`, 'docker.io', `docker.io/library/app:v1@${D}`],
  ])('normalises %s like the engine', (input, registry, canonical) => {
    const ref = parseImageReference(input);
    expect(ref.registry).toBe(registry);
    expect(ref.canonical).toBe(canonical);
  });

  it.each(['', 'UPPER', 'a b', 'app:bad tag', 'app@sha256:short', 'app@md5:' + 'a'.repeat(32), 'x'.repeat(300), 'reg.io/', '-app'])('refuses %p', (input) => {
    expect(() => parseImageReference(input)).toThrow(InvalidImageReference);
  });

  it('pins to a digest and finds the digest of its repository among RepoDigests', () => {
    const ref = parseImageReference('127.0.0.1:5000/app:v1');
    expect(pinnedReference(ref, D)).toBe(`127.0.0.1:5000/app@${D}`);
    expect(digestFor(ref, [`other/app@sha256:${'b'.repeat(64)}`, `127.0.0.1:5000/app@${D}`])).toBe(D);
    expect(digestFor(parseImageReference('python'), [`python@${D}`])).toBe(D);
    expect(digestFor(ref, [])).toBeNull();
  });
});
