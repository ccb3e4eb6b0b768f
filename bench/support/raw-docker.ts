// The "raw Docker" side of the benchmarks: the same hardened profile the adapter applies
// (hardening.md §1.1), created straight through dockerode with no OrcaOps code in the path.
import Docker from 'dockerode';

const MiB = 1024 * 1024;

export const docker = new Docker({ socketPath: process.env.ORCAOPS_DOCKER_SOCKET ?? '/var/run/docker.sock' });

/** Creates (does not start) a keep-alive container with the sandbox profile. */
export function createRawHardened(image: string): Promise<Docker.Container> {
  return docker.createContainer({
    Image: image,
    Cmd: ['sleep', '2147483647'],
    User: '65534:65534',
    Hostname: 'sandbox',
    Labels: { 'orcaops.bench': 'raw' },
    HostConfig: {
      NetworkMode: 'none',
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges:true'],
      ReadonlyRootfs: true,
      Tmpfs: { '/tmp': 'rw,nosuid,nodev,noexec,size=64m', '/workspace': 'rw,nosuid,nodev,size=256m,uid=65534,gid=65534,mode=0700' },
      Memory: 512 * MiB,
      MemorySwap: 512 * MiB,
      NanoCpus: 1e9,
      PidsLimit: 128,
      Init: true,
      IpcMode: 'private',
    },
  });
}
