import {
  addToManifest,
  artifactFiles,
  artifactNameProblem,
  downloadLayout,
  mergeFiles,
  parseDownloadEntry,
  resolveDownload,
  upstreamJobs,
  uploadRoot,
} from 'src/workflows/engine/artifacts';
import type { ProducerInstance } from 'src/workflows/engine/artifacts';

const producer = (workflowJob: string, jobRef: string | null, artifacts: ProducerInstance['artifacts'], skipped = false): ProducerInstance => ({ workflowJob, jobRef, skipped, artifacts });

describe('parseDownloadEntry', () => {
  it('should split job and artifact name', () => {
    expect(parseDownloadEntry('build/dist')).toEqual({ job: 'build', name: 'dist' });
    expect(parseDownloadEntry('build')).toEqual({ job: 'build' });
    expect(parseDownloadEntry('build/')).toEqual({ job: 'build' });
  });
});

describe('uploadRoot', () => {
  it('should root a single file at its directory and a directory at itself', () => {
    expect(uploadRoot(['out/report.xml'], ['out/report.xml'])).toBe('out');
    expect(uploadRoot(['out/'], ['out/a.txt', 'out/sub/b.txt'])).toBe('out');
    expect(uploadRoot(['./out'], ['out/a.txt'])).toBe('out');
  });

  it("should root a glob at its fixed prefix and several paths at their common ancestor", () => {
    expect(uploadRoot(['path/to/**/*.txt'], ['path/to/a/x.txt'])).toBe('path/to');
    expect(uploadRoot(['a/b/one.txt', 'a/c/two.txt'], ['a/b/one.txt', 'a/c/two.txt'])).toBe('a');
    expect(uploadRoot(['one.txt', 'dir/two.txt'], ['one.txt', 'dir/two.txt'])).toBe('');
    expect(uploadRoot(['/tmp/out/*.log'], ['tmp/out/x.log'])).toBe('tmp/out');
  });
});

describe('artifactFiles and addToManifest', () => {
  it('should make paths relative to the root and let a later upload of a path win', () => {
    const files = artifactFiles('out', ['out/a.txt', 'out/sub/b.txt']);
    expect(files).toEqual([
      { file: 'out/a.txt', path: 'a.txt' },
      { file: 'out/sub/b.txt', path: 'sub/b.txt' },
    ]);
    const manifest = addToManifest(addToManifest({}, 'dist', files), 'dist', [{ file: 'other/a.txt', path: 'a.txt' }]);
    expect(manifest.dist).toEqual([
      { file: 'other/a.txt', path: 'a.txt' },
      { file: 'out/sub/b.txt', path: 'sub/b.txt' },
    ]);
  });
});

describe('artifactNameProblem', () => {
  it('should refuse names that would be paths', () => {
    expect(artifactNameProblem('dist')).toBeUndefined();
    expect(artifactNameProblem('my-artifact_1.0')).toBeUndefined();
    expect(artifactNameProblem('../x')).toMatch(/not valid/);
    expect(artifactNameProblem('a\\b')).toMatch(/not valid/);
    expect(artifactNameProblem('..')).toMatch(/not valid/);
    expect(artifactNameProblem(' ')).toMatch(/empty/);
  });
});

describe('upstreamJobs', () => {
  it('should list direct and transitive needs in file order', () => {
    const jobs = [
      { id: 'a', needs: [] },
      { id: 'x', needs: [] },
      { id: 'b', needs: ['a'] },
      { id: 'c', needs: ['b', 'x'] },
      { id: 'd', needs: ['c'] },
    ];
    expect(upstreamJobs(jobs, 'd')).toEqual(['a', 'x', 'b', 'c']);
    expect(upstreamJobs(jobs, 'a')).toEqual([]);
  });
});

describe('resolveDownload', () => {
  it('should merge a matrix producer in matrix order (the later instance wins a path)', () => {
    const result = resolveDownload(
      [
        producer('build', 'j1', { dist: [{ file: 'dist/common.txt', path: 'dist/common.txt' }, { file: 'dist/one.txt', path: 'dist/one.txt' }] }),
        producer('build', 'j2', { dist: [{ file: 'dist/common.txt', path: 'dist/common.txt' }] }),
      ],
      'dist',
      'build',
    );
    expect(result).toEqual({
      ok: true,
      artifacts: [
        {
          name: 'dist',
          files: [
            { file: 'dist/common.txt', path: 'dist/common.txt', jobRef: 'j2' },
            { file: 'dist/one.txt', path: 'dist/one.txt', jobRef: 'j1' },
          ],
        },
      ],
    });
  });

  it('should fail clearly when a producer that ran did not upload the name', () => {
    expect(resolveDownload([producer('build', 'j1', { other: [] })], 'dist', 'build')).toEqual({
      ok: false,
      error: "Artifact 'dist' not found: job 'build' did not upload it (uploaded: 'other')",
    });
    expect(resolveDownload([producer('build', 'j1', {})], 'dist')).toEqual({
      ok: false,
      error: "Artifact 'dist' not found: the jobs this job needs did not upload it (none uploaded any)",
    });
  });

  it('should bring nothing, without error, when every producer was skipped', () => {
    expect(resolveDownload([producer('build', null, {}, true)], 'dist', 'build')).toEqual({ ok: true, artifacts: [] });
  });

  it('should bring every artifact when no name is given, in first-upload order', () => {
    const result = resolveDownload([producer('a', 'j1', { one: [{ file: 'x', path: 'x' }] }), producer('b', 'j2', { two: [{ file: 'y', path: 'y' }], one: [] })], undefined);
    expect(result.ok && result.artifacts.map((a) => a.name)).toEqual(['one', 'two']);
  });
});

describe('downloadLayout and mergeFiles', () => {
  const artifacts = [
    { name: 'one', files: [{ file: 'x', path: 'x', jobRef: 'j1' }] },
    { name: 'two', files: [{ file: 'x2', path: 'x', jobRef: 'j2' }] },
  ];

  it('should put each artifact under its name, or merge them into the target', () => {
    expect(downloadLayout(artifacts, '/workspace/all/', true).map((p) => p.directory)).toEqual(['/workspace/all/one', '/workspace/all/two']);
    expect(downloadLayout(artifacts, '/workspace', false)).toEqual([{ directory: '/workspace', files: [{ file: 'x2', path: 'x', jobRef: 'j2' }] }]);
    expect(mergeFiles([])).toEqual([]);
  });
});
