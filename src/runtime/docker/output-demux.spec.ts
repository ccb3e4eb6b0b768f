import { OutputDemuxer, type DemuxedStream } from 'src/runtime/docker/output-demux';

function frame(type: 1 | 2, payload: string | Buffer): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const header = Buffer.alloc(8);
  header[0] = type;
  header.writeUInt32BE(body.length, 4);
  return Buffer.concat([header, body]);
}

function collect(): { out: Record<DemuxedStream, string>; emit: (s: DemuxedStream, c: Buffer) => void; calls: () => number } {
  const out: Record<DemuxedStream, string> = { stdout: '', stderr: '' };
  let calls = 0;
  return {
    out,
    emit: (s, c) => {
      calls++;
      out[s] += c.toString();
    },
    calls: () => calls,
  };
}

describe('OutputDemuxer', () => {
  it('splits frames into stdout and stderr', () => {
    const c = collect();
    new OutputDemuxer(c.emit).push(Buffer.concat([frame(1, 'hello '), frame(2, 'oops'), frame(1, 'world')]));
    expect(c.out).toEqual({ stdout: 'hello world', stderr: 'oops' });
  });

  it('handles headers and payloads split at every byte boundary', () => {
    const whole = Buffer.concat([frame(1, 'abc'), frame(2, 'de'), frame(1, ''), frame(1, 'fgh')]);
    for (let cut = 0; cut <= whole.length; cut++) {
      const c = collect();
      const demuxer = new OutputDemuxer(c.emit);
      demuxer.push(whole.subarray(0, cut));
      demuxer.push(whole.subarray(cut));
      expect(c.out).toEqual({ stdout: 'abcfgh', stderr: 'de' });
    }
    const c = collect();
    const demuxer = new OutputDemuxer(c.emit);
    for (const byte of whole) demuxer.push(Buffer.from([byte]));
    expect(c.out).toEqual({ stdout: 'abcfgh', stderr: 'de' });
  });

  it('walks 100 000 one-byte frames in one chunk in linear time without recursion', () => {
    const frames = Buffer.concat(Array.from({ length: 100_000 }, (_, i) => frame(i % 2 === 0 ? 1 : 2, 'x')));
    const c = collect();
    new OutputDemuxer(c.emit).push(frames);
    expect(c.out.stdout.length).toBe(50_000);
    expect(c.out.stderr.length).toBe(50_000);
    expect(c.calls()).toBe(100_000);
  });

  it('passes a stream that is not multiplexed through as stdout', () => {
    const c = collect();
    const demuxer = new OutputDemuxer(c.emit);
    demuxer.push(Buffer.from('plain tty output\n'));
    demuxer.push(Buffer.from('more\n'));
    expect(c.out).toEqual({ stdout: 'plain tty output\nmore\n', stderr: '' });
  });
});
