import { buildQuery } from 'src/runtime/docker/docker-build';

describe('buildQuery', () => {
  it('builds with the classic builder, no network, no cache, no pulls, the limits and the labels', () => {
    const query = buildQuery({ tag: 'orcaops-ws-0123456789ab/tools:v1', dockerfile: 'Dockerfile', labels: { 'orcaops.workspace': 'w' }, cpus: 0.5, memoryBytes: 512, shmBytes: 64 });
    expect(query).toEqual({
      t: 'orcaops-ws-0123456789ab/tools:v1',
      dockerfile: 'Dockerfile',
      labels: { 'orcaops.workspace': 'w' },
      networkmode: 'none',
      memory: 512,
      memswap: 512,
      cpuperiod: 100_000,
      cpuquota: 50_000,
      shmsize: 64,
      pull: false,
      nocache: true,
      rm: true,
      forcerm: true,
      version: '1',
    });
  });
});
