// Traffic classes of the mixed-load test (bench/support/load-mixed.ts), shared by the load generator's
// two processes: the well-behaved tenant's clients run in the parent, the abuser's in a child
// (bench/support/load-abuser.ts), so the abuser's client work does not land in the good tenant's latencies.
import autocannon from 'autocannon';
import http from 'node:http';

export interface Sample {
  status: number; // 0: no answer
  ms: number;
}

export interface ClassSpec {
  name: string;
  rate: number;
  token: string;
  requests: autocannon.Request[];
}

export interface StreamStats {
  opened: number;
  refused: Record<string, number>;
  peak_open: number;
}

/** One autocannon instance at a fixed rate; resolves with every response's status and latency. */
export function runClass(url: string, spec: ClassSpec, seconds: number): Promise<Sample[]> {
  const samples: Sample[] = [];
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url,
        // A few connections per class: the rate is what the class asks for, not what the server allows.
        connections: Math.min(spec.rate, 8),
        overallRate: spec.rate,
        ignoreCoordinatedOmission: true,
        duration: seconds,
        timeout: 30,
        headers: { authorization: `Bearer ${spec.token}`, 'content-type': 'application/json' },
        requests: spec.requests,
      },
      (error: unknown) =>
        error
          ? reject(error instanceof Error ? error : new Error('autocannon failed', { cause: error }))
          : resolve(samples),
    );
    instance.on(
      'response',
      (_client: unknown, status: number, _bytes: number, ms: number) => void samples.push({ status, ms }),
    );
    instance.on('reqError', (error: Error) => {
      if (process.env.BENCH_DEBUG_ERRORS === '1') process.stderr.write(`${new Date().toISOString().slice(11, 23)} ${spec.name} reqError ${error.message}\n`);
      samples.push({ status: 0, ms: 0 });
    });
    if (process.env.BENCH_DEBUG_ERRORS === '1') {
      let first = true;
      instance.on('response', (_c: unknown, status: number, _b: number, ms: number) => {
        if (first) process.stderr.write(`${new Date().toISOString().slice(11, 23)} ${spec.name} first response ${status} in ${ms} ms\n`);
        first = false;
      });
      process.stderr.write(`${new Date().toISOString().slice(11, 23)} ${spec.name} started (pid ${process.pid})\n`);
    }
  });
}

/** Runs every class at once for `seconds`; samples by class name. */
export async function runClasses(url: string, specs: ClassSpec[], seconds: number): Promise<Record<string, Sample[]>> {
  const all = await Promise.all(specs.map((spec) => runClass(url, spec, seconds)));
  return Object.fromEntries(specs.map((spec, i) => [spec.name, all[i]!]));
}

/** Holds `count` SSE log streams open on one job; a stream that ends or is refused is reopened. */
export function holdStreams(
  url: string,
  token: string,
  jobId: string,
  count: number,
): { stop(): Promise<StreamStats> } {
  let stopped = false;
  let open = 0;
  let peakOpen = 0;
  let opened = 0;
  const refused: Record<string, number> = {};
  const live = new Set<http.ClientRequest>();
  const workers: Array<Promise<void>> = [];
  const one = (): Promise<void> =>
    new Promise<void>((resolve) => {
      const request = http.get(
        `${url}/v1/jobs/${jobId}/logs?follow=true`,
        { headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' }, agent: false },
        (response) => {
          const status = response.statusCode ?? 0;
          if (status === 200) {
            opened++;
            peakOpen = Math.max(peakOpen, ++open);
          } else refused[String(status)] = (refused[String(status)] ?? 0) + 1;
          response.resume();
          response.once('close', () => {
            if (status === 200) open--;
            resolve();
          });
        },
      );
      live.add(request);
      request.once('error', () => {
        if (!stopped) refused.error = (refused.error ?? 0) + 1;
        resolve();
      });
      request.once('close', () => live.delete(request));
    });
  for (let i = 0; i < count; i++) {
    workers.push(
      (async () => {
        while (!stopped) {
          await one();
          // A refused stream is retried after a pause, not in a tight loop: this class holds streams, the flood class floods.
          if (!stopped) await new Promise((resolve) => setTimeout(resolve, 500));
        }
      })(),
    );
  }
  return {
    stop: async () => {
      stopped = true;
      for (const request of live) request.destroy();
      await Promise.all(workers);
      return { opened, refused, peak_open: peakOpen };
    },
  };
}

