// The abuser's half of the mixed-load test, in its own process (forked by bench/support/load-mixed.ts):
// its clients (a 200/s flood, 2 MiB bodies, dozens of held streams) cost the load generator real CPU,
// and in the good tenant's process that CPU would delay the good tenant's own requests and responses
// and be counted as the server's latency. Here it only competes for the machine, as a separate client
// would. Protocol (IPC): the child sends `ready`; each `run` the parent sends is answered with `done`;
// the child exits when the parent disconnects. It is started once, before the warm-up, so its start-up
// (ts-node, JIT, first connections) is not inside a measured phase.
import { holdStreams, runClasses, type ClassSpec, type Sample, type StreamStats } from './load-classes';

export interface AbuserRun {
  type: 'run';
  url: string;
  specs: ClassSpec[];
  seconds: number;
  streams?: { token: string; jobId: string; count: number };
}

export interface AbuserDone {
  type: 'done';
  samples: Record<string, Sample[]>;
  streams?: StreamStats;
  /** This process's CPU seconds during the run. */
  cpu_s: number;
  error?: string;
}

/** The abuser's run; in the child, or in the caller's process for an A/B comparison. */
export async function runAbuser(message: Omit<AbuserRun, 'type'>): Promise<AbuserDone> {
  const before = process.cpuUsage();
  const held = message.streams
    ? holdStreams(message.url, message.streams.token, message.streams.jobId, message.streams.count)
    : undefined;
  const samples = await runClasses(message.url, message.specs, message.seconds);
  const streams = await held?.stop();
  const used = process.cpuUsage(before);
  return { type: 'done', samples, ...(streams ? { streams } : {}), cpu_s: (used.user + used.system) / 1e6 };
}

// Only as the forked entry point (this module is also imported, by the parent and inside jest workers, which have IPC too).
if (require.main === module && process.send) {
  // One run at a time, as many as the parent asks for (warm-up, then the measured phase); it exits when the parent goes.
  process.on('message', (message: AbuserRun) => {
    runAbuser(message)
      .catch((error: unknown): AbuserDone => ({ type: 'done', samples: {}, cpu_s: 0, error: String((error as Error).stack ?? error) }))
      .then((done) => process.send!(done))
      .catch(() => process.exit(1));
  });
  process.once('disconnect', () => process.exit(0));
  process.send({ type: 'ready' });
}
