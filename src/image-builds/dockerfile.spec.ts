import { planDockerfile, rewriteBaseImages } from 'src/image-builds/dockerfile';

describe('planDockerfile', () => {
  it('finds FROM and COPY --from images, not stages, indexes or scratch', () => {
    const plan = planDockerfile(
      [
        '# syntax comment',
        'FROM --platform=linux/amd64 registry.example.com/base:1 AS build',
        'RUN make \\',
        '  all',
        'FROM scratch',
        'COPY --from=build /out /out',
        'COPY --from=0 /a /a',
        'COPY --from=ghcr.io/acme/tools:2 /bin/tool /bin/tool',
        'from build',
      ].join('\n'),
    );
    expect(plan.problems).toEqual([]);
    expect(plan.images).toEqual([
      { line: 2, instruction: 'FROM --platform=linux/amd64 registry.example.com/base:1 AS build', image: 'registry.example.com/base:1' },
      { line: 8, instruction: 'COPY --from=ghcr.io/acme/tools:2 /bin/tool /bin/tool', image: 'ghcr.io/acme/tools:2' },
    ]);
  });

  it('refuses variables in FROM, RUN --mount and a Dockerfile without FROM', () => {
    expect(planDockerfile('ARG BASE=x\nFROM ${BASE}\nRUN --mount=type=bind,target=/h true').problems).toEqual([
      'line 2: "FROM ${BASE}" uses a variable; name the base image literally',
      'line 3: RUN --mount is not supported (builds get no host or cache mounts)',
    ]);
    expect(planDockerfile('RUN true').problems).toEqual(['the Dockerfile has no FROM instruction']);
  });
});

describe('rewriteBaseImages', () => {
  it('pins each base image in place and keeps line numbers', () => {
    const text = 'FROM a:1 \\\n  AS one\nFROM one\nCOPY --from=b:2 /x /x\nRUN echo a:1';
    const out = rewriteBaseImages(text, new Map([['a:1', 'docker.io/library/a@sha256:1'], ['b:2', 'b@sha256:2']]));
    expect(out).toBe('FROM docker.io/library/a@sha256:1 AS one\n\nFROM one\nCOPY --from=b@sha256:2 /x /x\nRUN echo a:1');
  });
});
