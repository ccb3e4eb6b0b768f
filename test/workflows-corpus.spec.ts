/**
 * The real-world workflow corpus (../shared/workflow-corpus, used in place, never copied): every file
 * loads with only the expected warnings and plans to the instance counts in the corpus README.
 * Pure engine only: no Docker, no database.
 */
import { existsSync, readFileSync } from 'fs';
import { join } from 'path';
import { advance, initialRunState, recordInstanceResult } from 'src/workflows/engine/decide';
import { fromJson } from 'src/workflows/engine/expressions';
import { formatDiagnostics, loadWorkflow } from 'src/workflows/engine/loader';
import type { LoadResult, Plan, PlannedJob, RunState, Workflow } from 'src/workflows/engine/model';
import { plan } from 'src/workflows/engine/plan';
import { describeWithCorpus, WORKFLOW_CORPUS as CORPUS } from './support/shared-corpus';
/** The harness's runs-on → image table (design §4: adapt through mappings, never by editing files). */
const PLATFORMS = { 'timescaledb-runner-arm64': 'ubuntu:24.04' };
// script-injection: a lint on github.event text pasted into run scripts (timescaledb prerelease-sanity).
// container-user: citus asks for `--user root`, which the job container's strict profile never applies.
const EXPECTED_WARNINGS = new Set(['ignored-key', 'unsupported-step', 'unsupported-runner', 'script-injection', 'container-user']);

function load(file: string, skipUnsupported = true): LoadResult {
  return loadWorkflow(readFileSync(join(CORPUS, file), 'utf8'), { file, skipUnsupported });
}

function loaded(file: string): Workflow {
  const result = load(file);
  if (!result.workflow) throw new Error(formatDiagnostics(result.diagnostics, file));
  const unexpected = result.diagnostics.filter(
    (d) => d.severity === 'error' || !EXPECTED_WARNINGS.has(d.code),
  );
  if (unexpected.length > 0) throw new Error(formatDiagnostics(unexpected, file));
  return result.workflow;
}

function planOf(file: string): Plan {
  return plan(loaded(file), { platforms: PLATFORMS, defaultImage: 'ubuntu:24.04' });
}

function job(p: Plan, id: string): PlannedJob {
  const found = p.jobs.find((j) => j.id === id);
  if (!found) throw new Error(`no job ${id} in plan ${p.name}`);
  return found;
}

function runState(workflow: Workflow): RunState {
  const context = {
    github: { event_name: 'push' },
    inputs: {},
    vars: {},
    env: {},
    defaultImage: 'ubuntu:24.04',
    platforms: PLATFORMS,
  };
  return advance(initialRunState(workflow, context, 64, 0), 0).state;
}

describeWithCorpus('workflow corpus', () => {
  it('is present next to the repository', () => {
    expect(existsSync(join(CORPUS, 'README.md'))).toBe(true);
  });

  it.each([
    ['actions__example-services__postgres-service.yml', ['container-job', 'vm-job']],
    ['actions__example-services__redis-service.yml', ['container-job', 'vm-job']],
  ])('%s: 2 jobs, one container job and one runner-style job', (file, ids) => {
    const p = planOf(file);
    expect(p.order).toEqual(ids);
    expect(p.staticInstanceCount).toBe(2);
    expect(job(p, 'container-job').instances[0]?.image).toBe('node:10.16-jessie');
  });

  it('citus: 3 jobs; matrices expand only once their needs ran, fromJSON accepting the trailing comma', () => {
    const workflow = loaded('citusdata__citus__packaging-test-pipelines.yml');
    const p = plan(workflow);
    expect(p.jobs.map((j) => [j.id, j.expansion])).toEqual([
      ['get_postgres_versions_from_file', 'static'],
      ['rpm_build_tests', 'dynamic'],
      ['deb_build_tests', 'dynamic'],
    ]);
    expect(fromJson('[ 15,16,17,18, ]')).toEqual([15, 16, 17, 18]);
    let state = runState(workflow);
    expect(state.jobs.rpm_build_tests?.phase).toBe('pending');
    state = recordInstanceResult(
      state,
      'get_postgres_versions_from_file',
      { outcome: 'success', outputs: { pg_versions: '[ 15,16,17,18, ]' }, continueOnError: false },
      1,
    );
    state = advance(state, 1).state;
    const rpm = state.jobs.rpm_build_tests?.instanceKeys ?? [];
    const deb = state.jobs.deb_build_tests?.instanceKeys ?? [];
    expect(rpm).toHaveLength(3 * 4);
    // exclude {ubuntu-focal-all, 18} matches the integer parsed from JSON.
    expect(deb).toHaveLength(4 * 4 - 1);
    expect(state.instances[rpm[0] as string]?.instance).toMatchObject({
      displayName: 'rpm_build_tests (oraclelinux-8, 15)',
      image: 'citus/packaging:oraclelinux-8-pg15',
    });
  });

  it('timescaledb docker-images: 6 instances; extras-diagnostic: 3', () => {
    expect(planOf('timescale__timescaledb__docker-images.yml').staticInstanceCount).toBe(6);
    expect(planOf('timescale__timescaledb__extras-diagnostic.yml').staticInstanceCount).toBe(3);
  });

  it('timescaledb prerelease-sanity: 2 jobs, the custom runner label mapped through platforms', () => {
    const p = planOf('timescale__timescaledb__prerelease-sanity.yml');
    expect(p.order).toEqual(['config', 'check_release_commit']);
    expect(p.jobs.every((j) => j.instances[0]?.image === 'ubuntu:24.04' && !j.skippedReason)).toBe(true);
  });

  it('docker-library python: 2 jobs, the strategy known only at run time', () => {
    const workflow = loaded('docker-library__python__ci.yml');
    expect(job(plan(workflow), 'test').expansion).toBe('dynamic');
    expect(
      load('docker-library__python__ci.yml', false)
        .diagnostics.filter((d) => d.severity === 'error')
        .map((d) => d.code),
    ).toEqual(['unsupported-step']);
    const strategy = {
      'fail-fast': false,
      matrix: {
        include: [{ name: '3.14-rc-trixie', os: 'ubuntu-latest', runs: { build: 'docker build .' } }],
      },
    };
    let state = runState(workflow);
    state = recordInstanceResult(
      state,
      'generate-jobs',
      { outcome: 'success', outputs: { strategy: JSON.stringify(strategy) }, continueOnError: false },
      1,
    );
    state = advance(state, 1).state;
    const [key] = state.jobs.test?.instanceKeys ?? [];
    expect(state.instances[key as string]?.instance).toMatchObject({
      displayName: '3.14-rc-trixie',
      image: 'ubuntu:24.04',
    });
    expect(state.jobs.test?.failFast).toBe(false);
  });

  it('node-postgres: 11 matrix instances from an include-only matrix written with anchors', () => {
    const p = planOf('brianc__node-postgres__ci.yml');
    expect(job(p, 'build').instances).toHaveLength(11);
    expect(job(p, 'build').instances[5]?.displayName).toBe('Node.js 26 x PostgreSQL 13');
    expect(p.order).toEqual(['lint', 'build']);
  });

  it('redis: 8 independent jobs, the macOS one reported unsupported', () => {
    const p = planOf('redis__redis__ci.yml');
    expect(p.jobs).toHaveLength(8);
    expect(p.jobs.filter((j) => j.skippedReason).map((j) => j.id)).toEqual(['build-macos-latest']);
    expect(job(p, 'build-debian-old').instances[0]?.image).toBe('debian:buster');
    const state = runState(loaded('redis__redis__ci.yml'));
    expect(Object.values(state.instances).filter((i) => i.status === 'running')).toHaveLength(7);
    expect(state.jobs['build-macos-latest']).toMatchObject({
      phase: 'skipped',
      reason: 'unsupported_runner',
    });
  });

  it('curl linux-old: 1 job, 24 run steps plus checkout, in a digest-pinned container', () => {
    const workflow = loaded('curl__curl__linux-old.yml');
    const [only] = workflow.jobs;
    expect(workflow.jobs).toHaveLength(1);
    expect(only?.steps.filter((s) => s.action.kind === 'run')).toHaveLength(24);
    expect(only?.steps.filter((s) => s.action.kind === 'checkout')).toHaveLength(1);
    expect(plan(workflow).jobs[0]?.instances[0]?.image).toMatch(/^debian:stretch-.*@sha256:[0-9a-f]{64}$/);
  });

  it('git main: 14 jobs, dockerized has 13 instances, Windows and macOS work is unsupported', () => {
    const p = planOf('git__git__main.yml');
    expect(p.jobs).toHaveLength(14);
    expect(job(p, 'dockerized').instances).toHaveLength(13);
    expect(job(p, 'dockerized').instances[0]).toMatchObject({
      displayName: 'linux-sha256 (ubuntu:rolling)',
      image: 'ubuntu:rolling',
    });
    const unsupported = p.jobs.filter((j) => j.skippedReason).map((j) => j.id);
    expect(unsupported).toEqual([
      'windows-build',
      'windows-test',
      'vs-build',
      'vs-test',
      'windows-meson-build',
      'windows-meson-test',
      'regular',
    ]);
    expect(p.order[0]).toBe('ci-config');
  });
});
