import type { VolumeMounter } from 'src/services-runtime/volumes';
import { planVolumes } from 'src/services-runtime/volumes';

const MiB = 1024 * 1024;
const job = (entries: string[], memoryBytes = 512 * MiB): VolumeMounter => ({ kind: 'job', id: 'build', entries, memoryBytes });
const service = (id: string, entries: string[], memoryBytes = 256 * MiB): VolumeMounter => ({ kind: 'service', id, entries, memoryBytes });

describe('planVolumes', () => {
  it('shares a named volume by name between the job container and its services (one volume per instance)', () => {
    const { plan, errors } = planVolumes([job(['shared:/data']), service('seed', ['shared:/seed:ro']), service('db', ['shared:/var/lib/db'])]);
    expect(errors).toEqual([]);
    expect(plan.volumes).toEqual([{ key: 'vol-shared', name: 'shared', sizeBytes: 512 * MiB, mountedByJob: true, mountedBy: ['job', 'service seed', 'service db'] }]);
    expect(plan.job).toEqual([{ volume: 'vol-shared', target: '/data', readOnly: false }]);
    expect(plan.services).toEqual({
      seed: [{ volume: 'vol-shared', target: '/seed', readOnly: true }],
      db: [{ volume: 'vol-shared', target: '/var/lib/db', readOnly: false }],
    });
  });

  it('shares a name between two services too (compose semantics), sized by the largest memory limit among them', () => {
    const { plan } = planVolumes([service('a', ['data:/data'], 256 * MiB), service('b', ['data:/data'], 1024 * MiB)]);
    expect(plan.volumes).toEqual([{ key: 'vol-data', name: 'data', sizeBytes: 1024 * MiB, mountedByJob: false, mountedBy: ['service a', 'service b'] }]);
  });

  it('gives every anonymous /path its own volume, private to the container that declares it', () => {
    const { plan, errors } = planVolumes([job(['/cache', 'keep:/keep']), service('a', ['/cache']), service('b', ['/cache/'])]);
    expect(errors).toEqual([]);
    expect(plan.volumes.map((v) => [v.key, v.name, v.mountedBy, v.mountedByJob])).toEqual([
      ['anon-job-1-cache', undefined, ['job'], true],
      ['vol-keep', 'keep', ['job'], true],
      ['anon-svc-a-1-cache', undefined, ['service a'], false],
      ['anon-svc-b-1-cache', undefined, ['service b'], false],
    ]);
    expect(plan.job).toEqual([
      { volume: 'anon-job-1-cache', target: '/cache', readOnly: false },
      { volume: 'vol-keep', target: '/keep', readOnly: false },
    ]);
  });

  it('cannot confuse a named volume with an anonymous one of the same path', () => {
    const { plan } = planVolumes([job(['/anon-job-1-data', 'anon-job-1-data:/x'])]);
    expect(new Set(plan.volumes.map((v) => v.key)).size).toBe(2);
  });

  it('mounts one volume at two paths of a container, but never two volumes at one path', () => {
    expect(planVolumes([job(['a:/one', 'a:/two'])]).errors).toEqual([]);
    expect(planVolumes([job(['a:/data', 'b:/data/'])]).errors).toEqual(["container volumes: Volume 'b:/data/': /data is mounted twice"]);
  });

  it('reports every bad entry with the container it belongs to', () => {
    const { errors } = planVolumes([job(['/srv:/data', 'x:/workspace']), service('db', ['./dir:/var/lib/db', 'ok:/ok']), service('web', ['/workspace'])]);
    expect(errors).toEqual([
      expect.stringMatching(/^container volumes: Volume '\/srv:\/data' is a host bind mount.*; Volume 'x:\/workspace': the job's workspace/),
      expect.stringMatching(/^service db volumes: Volume '\.\/dir:\/var\/lib\/db' is a host bind mount/),
    ]);
  });

  it('plans nothing without volumes', () => {
    expect(planVolumes([job([]), service('db', [])])).toEqual({ plan: { volumes: [], job: [], services: { db: [] } }, errors: [] });
    expect(planVolumes([])).toEqual({ plan: { volumes: [], job: [], services: {} }, errors: [] });
  });
});
