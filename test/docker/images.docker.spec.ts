// Real Docker engine: scripts/setup.sh builds the standard images before jest runs, so `images build`
// must find them and skip them (fast; nothing is rebuilt here).
import { buildProgram } from 'src/cli/main';
import { localEngine } from 'src/cli/docker-engine';
import { STANDARD_IMAGES, standardReference } from 'src/images/standard-images';

async function runCli(...args: string[]): Promise<{ json: any; exitCode: number }> {
  const out: string[] = [];
  const stdout = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out.push(chunk.toString());
    return true;
  });
  const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
  process.exitCode = undefined;
  try {
    await buildProgram()
      .exitOverride()
      .parseAsync(['node', 'orcaops', '--json', ...args]);
    return { json: JSON.parse(out.join('')), exitCode: Number(process.exitCode ?? 0) };
  } finally {
    process.exitCode = undefined;
    stdout.mockRestore();
    stderr.mockRestore();
  }
}

describe('orcaops images (real engine)', () => {
  // Fails fast instead of building: this spec must never start a (slow) image build.
  beforeAll(async () => {
    const { engine, socketPath } = localEngine();
    await engine.ping().catch((error: Error) => {
      throw new Error(
        `Docker engine not reachable at ${socketPath} (${error.message}): run scripts/setup.sh first`,
      );
    });
    for (const image of STANDARD_IMAGES) {
      if (!(await engine.inspectImage(standardReference(image)))) {
        throw new Error(
          `${standardReference(image)} is missing: run scripts/setup.sh (or orcaops images build) first`,
        );
      }
    }
  });

  it('images build skips the standard images that already exist', async () => {
    const { json, exitCode } = await runCli('images', 'build');
    expect(exitCode).toBe(0);
    expect(json.items.map((r: any) => [r.name, r.status])).toEqual(STANDARD_IMAGES.map((image) => [image.name, 'skipped']));
    expect(json.items.every((r: any) => r.id.startsWith('sha256:'))).toBe(true);
  });

  it('images list reports every standard image as present', async () => {
    const { json } = await runCli('images', 'list');
    expect(json.items.map((s: any) => [s.reference, s.present])).toEqual([
      ['orcaops/busybox:latest', true],
      ['orcaops/python:latest', true],
      ['orcaops/postgres:latest', true],
      ['orcaops/redis:latest', true],
      ['orcaops/node:latest', true],
    ]);
  });

  it('doctor reports the engine and the images as ok', async () => {
    const { json } = await runCli('doctor');
    const status = Object.fromEntries(json.checks.map((c: any) => [c.check, c.status]));
    expect(status).toMatchObject({
      'docker engine': 'ok',
      'image busybox': 'ok',
      'image python': 'ok',
      'image postgres': 'ok',
      'image redis': 'ok',
      'image node': 'ok',
      node: 'ok',
    });
  });
});
