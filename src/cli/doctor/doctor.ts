import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ENGINE_FIX } from 'src/cli/docker-engine';
import type { LocalEngine } from 'src/cli/docker-engine';
import { checkDatabase } from 'src/cli/doctor/database.check';
import type { DoctorCheck } from 'src/cli/doctor/doctor-check';
import { errorMessage, passed, problem, skipped } from 'src/cli/doctor/doctor-check';
import { requiredNodeRange, satisfiesRange } from 'src/cli/doctor/node-version';
import { formatBytes, shortId } from 'src/cli/output';
import { databaseConfig, dataHome, readEnv } from 'src/config/orcaops.config';
import { STANDARD_IMAGES, standardReference } from 'src/images/standard-images';

export interface DoctorReport {
  ok: boolean;
  checks: DoctorCheck[];
}

const IMAGES_FIX = 'run `orcaops images build` (scripts/setup.sh does it too)';

export function checkNode(version = process.versions.node, range = requiredNodeRange()): DoctorCheck {
  if (!range) return passed('node', `Node.js ${version} (package.json names no engines.node)`);
  const fits = satisfiesRange(version, range);
  if (fits === false)
    return problem(
      'node',
      'fail',
      `Node.js ${version} does not satisfy ${range}`,
      `install Node.js ${range}`,
    );
  if (fits === undefined)
    return problem(
      'node',
      'warn',
      `Node.js ${version}; cannot evaluate engines range "${range}"`,
      `make sure Node.js satisfies ${range}`,
    );
  return passed('node', `Node.js ${version} (needs ${range})`);
}

function checkConfiguration(): DoctorCheck {
  try {
    const env = readEnv();
    return passed('configuration', `ORCAOPS_ENV=${env.ORCAOPS_ENV}, runtime ${env.ORCAOPS_RUNTIME}`);
  } catch (error) {
    return problem(
      'configuration',
      'fail',
      errorMessage(error),
      'fix the environment variables above (README: Configuration)',
    );
  }
}

/** The data directory, or (before first use) the nearest existing parent, must be writable. */
async function checkDataDir(home: string): Promise<DoctorCheck> {
  let dir = home;
  while (!(await stat(dir).catch(() => undefined)) && dir !== dirname(dir)) dir = dirname(dir);
  const note = dir === home ? '' : ` (not created yet; ${dir} is writable)`;
  try {
    await access(dir, constants.W_OK | constants.X_OK);
    return passed('data dir', `${home}${note}`);
  } catch {
    return problem(
      'data dir',
      'fail',
      `${home}: ${dir} is not writable`,
      'set ORCAOPS_HOME to a writable directory, or fix its permissions',
    );
  }
}

async function checkEngine({ engine, socketPath }: LocalEngine): Promise<DoctorCheck> {
  try {
    const e = await engine.ping();
    return passed(
      'docker engine',
      `Docker ${e.version} (API ${e.apiVersion}, ${e.os}) at ${socketPath}, cgroup v${e.cgroupVersion}, runtime ${e.runtime}`,
    );
  } catch (error) {
    return problem(
      'docker engine',
      'fail',
      `not reachable at ${socketPath}: ${errorMessage(error)}`,
      ENGINE_FIX,
    );
  }
}

async function checkImages({ engine }: LocalEngine, engineUp: boolean): Promise<DoctorCheck[]> {
  return Promise.all(
    STANDARD_IMAGES.map(async (image) => {
      const name = `image ${image.name}`;
      if (!engineUp) return skipped(name, `${standardReference(image)}: unknown (engine not reachable)`);
      const info = await engine.inspectImage(standardReference(image)).catch(() => undefined);
      if (!info) return problem(name, 'fail', `${standardReference(image)} is missing`, IMAGES_FIX);
      return passed(
        name,
        `${standardReference(image)} ${shortId(info.id) ?? ''}, ${formatBytes(info.sizeBytes) ?? '?'}`,
      );
    }),
  );
}

/** Everything OrcaOps needs on this host, with what to do about each problem. Starts nothing. */
export async function runDoctor(local: () => LocalEngine): Promise<DoctorReport> {
  const checks: DoctorCheck[] = [checkNode(), checkConfiguration()];
  if (checks[1]?.status !== 'ok') {
    checks.push(
      skipped('docker engine', 'configuration invalid'),
      skipped('database', 'configuration invalid'),
    );
  } else {
    const engine = local();
    const engineCheck = await checkEngine(engine);
    checks.push(engineCheck, ...(await checkImages(engine, engineCheck.status === 'ok')));
    checks.push(await checkDatabase(databaseConfig()), await checkDataDir(dataHome()));
  }
  return { ok: checks.every((c) => c.status !== 'fail'), checks };
}
