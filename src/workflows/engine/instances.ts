/**
 * Turning a ready job into instances: evaluate its strategy (possibly from needs outputs), expand the
 * matrix, give each combination its stable key, GitHub display name and resolved image.
 */
import { createHash } from 'crypto';
import type { EvaluationContext } from 'src/workflows/engine/expressions';
import {
  evaluateTemplate,
  ExpressionError,
  interpolate,
  toBoolean,
  toNumber,
} from 'src/workflows/engine/expressions';
import type { ConcreteMatrix, MatrixCombination } from 'src/workflows/engine/matrix';
import {
  canonicalJson,
  concretizeMatrix,
  displaySuffix,
  expandMatrix,
  isStaticMatrix,
  matrixFromValue,
  MatrixError,
} from 'src/workflows/engine/matrix';
import { MATRIX_INSTANCE_LIMIT } from 'src/workflows/engine/model';
import type {
  JobInstance,
  JobSpec,
  JsonObject,
  JsonValue,
  MatrixRow,
  StrategySpec,
} from 'src/workflows/engine/model';

export interface ExpansionInputs {
  /** Contexts for strategy/name/runs-on/container: github, needs, inputs, vars (matrix/strategy are added). */
  contexts: Record<string, JsonValue>;
  platforms: Record<string, string>;
  defaultImage: string;
}

export interface ExpandedJob {
  instances: JobInstance[];
  failFast: boolean;
  maxParallel?: number;
}

export class ExpansionError extends Error {}

/** True when the job's matrix is known without running anything (plan can list its instances). */
export function hasStaticStrategy(job: JobSpec): boolean {
  if (!job.strategy) return true;
  return job.strategy.kind === 'static' && isStaticMatrix(job.strategy.spec.matrix);
}

export function expandJob(job: JobSpec, inputs: ExpansionInputs): ExpandedJob {
  try {
    const strategy = resolveStrategy(job, inputs.contexts);
    const combinations = strategy.matrix ? expandMatrix(strategy.matrix) : [{ values: {}, nameValues: [] }];
    if (combinations.length === 0)
      throw new ExpansionError(
        `Matrix for job '${job.id}' is empty (every combination was excluded); guard the job with 'if'`,
      );
    const strategyContext = {
      'fail-fast': strategy.failFast,
      'job-total': combinations.length,
      'max-parallel': strategy.maxParallel ?? combinations.length,
    };
    const instances = combinations.map((c, index) =>
      buildInstance(job, c, index, {
        ...inputs,
        contexts: { ...inputs.contexts, strategy: { ...strategyContext, 'job-index': index } },
      }),
    );
    return strategy.maxParallel === undefined
      ? { instances, failFast: strategy.failFast }
      : { instances, failFast: strategy.failFast, maxParallel: strategy.maxParallel };
  } catch (err) {
    if (err instanceof MatrixError || err instanceof ExpressionError)
      throw new ExpansionError(`Job '${job.id}': ${err.message}`);
    throw err;
  }
}

interface ResolvedStrategy {
  matrix?: ConcreteMatrix;
  failFast: boolean;
  maxParallel?: number;
}

function resolveStrategy(job: JobSpec, contexts: Record<string, JsonValue>): ResolvedStrategy {
  const ctx: EvaluationContext = { contexts };
  if (!job.strategy) return { failFast: true };
  if (job.strategy.kind === 'expression')
    return strategyFromValue(evaluateTemplate(job.strategy.expression, ctx));
  return resolveStaticStrategy(job.strategy.spec, ctx);
}

function resolveStaticStrategy(spec: StrategySpec, ctx: EvaluationContext): ResolvedStrategy {
  const resolved: ResolvedStrategy = {
    failFast:
      typeof spec.failFast === 'boolean' ? spec.failFast : toBoolean(evaluateTemplate(spec.failFast, ctx)),
  };
  if (spec.matrix !== undefined) resolved.matrix = concretizeMatrix(spec.matrix, ctx);
  if (spec.maxParallel !== undefined)
    resolved.maxParallel = Math.min(MATRIX_INSTANCE_LIMIT, positiveInteger(spec.maxParallel, ctx, 'max-parallel'));
  return resolved;
}

/** The whole strategy as one value (docker-library python ci.yml). */
function strategyFromValue(value: JsonValue): ResolvedStrategy {
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new ExpansionError('strategy must evaluate to a mapping');
  const resolved: ResolvedStrategy = {
    failFast: value['fail-fast'] === undefined ? true : toBoolean(value['fail-fast']),
  };
  if (value.matrix !== undefined) resolved.matrix = matrixFromValue(value.matrix);
  if (value['max-parallel'] !== undefined)
    // Clamped to the instance limit: more could never run (and running_jobs is the real concurrency).
    resolved.maxParallel = Math.min(MATRIX_INSTANCE_LIMIT, positiveInteger(value['max-parallel'], { contexts: {} }, 'max-parallel'));
  return resolved;
}

function positiveInteger(value: JsonValue, ctx: EvaluationContext, what: string): number {
  const number =
    typeof value === 'string' && value.includes('${{')
      ? toNumber(evaluateTemplate(value, ctx))
      : toNumber(value);
  if (!Number.isInteger(number) || number < 1)
    throw new ExpansionError(`${what} must be an integer ≥ 1, got ${String(number)}`);
  return number;
}

function buildInstance(
  job: JobSpec,
  combination: MatrixCombination,
  index: number,
  inputs: ExpansionInputs,
): JobInstance {
  const matrix = combination.values;
  const contexts = { ...inputs.contexts, matrix };
  const key = instanceKey(job.id, matrix);
  const instance: JobInstance = {
    key,
    hash: shortHash(key),
    jobId: job.id,
    index,
    displayName: displayName(job, combination, contexts),
    matrix,
  };
  const image = resolveImage(job, contexts, inputs);
  if ('unsupportedRunner' in image) instance.unsupportedRunner = image.unsupportedRunner;
  else instance.image = image.image;
  return instance;
}

export function instanceKey(jobId: string, matrix: MatrixRow): string {
  return Object.keys(matrix).length === 0 ? jobId : `${jobId}${canonicalJson(matrix)}`;
}

export function shortHash(key: string): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 8);
}

/** `name` with `${{ }}` is evaluated per instance without a suffix; otherwise `<name> (v1, v2)`. */
export function displayName(
  job: JobSpec,
  combination: MatrixCombination,
  contexts: Record<string, JsonValue>,
): string {
  const name = job.name ?? job.id;
  if (!name.includes('${{')) return `${name}${displaySuffix(combination.nameValues)}`;
  try {
    return interpolate(name, { contexts });
  } catch {
    return `${job.id}${displaySuffix(combination.nameValues)}`;
  }
}

// ─── Image resolution ───────────────────────────────────────────────────────────────────────────────

const UNSUPPORTED_LABEL = /\b(windows|macos|mac-os|osx)\b|^(windows|macos)/i;
const LINUX_LABEL = /^(ubuntu-[\w.-]+|linux|self-hosted|x64|arm64)$/i;

/** container.image → image → platforms[runs-on] → default image; Windows/macOS or unknown labels → unsupported. */
export function resolveImage(
  job: JobSpec,
  contexts: Record<string, JsonValue>,
  inputs: Omit<ExpansionInputs, 'contexts'>,
): { image: string } | { unsupportedRunner: string } {
  const ctx: EvaluationContext = { contexts };
  const explicit = job.container?.image ?? job.image;
  if (explicit !== undefined) return { image: interpolate(explicit, ctx) };
  const labels = (Array.isArray(job.runsOn) ? job.runsOn : job.runsOn === undefined ? [] : [job.runsOn]).map(
    (l) => interpolate(l, ctx),
  );
  for (const label of labels) {
    const mapped = inputs.platforms[label];
    if (mapped) return { image: mapped };
  }
  const unsupported =
    labels.find((l) => UNSUPPORTED_LABEL.test(l)) ?? labels.find((l) => !LINUX_LABEL.test(l));
  return unsupported === undefined ? { image: inputs.defaultImage } : { unsupportedRunner: unsupported };
}

/** Outputs-free contexts used for a dry run: needs are unknown, so only static pieces are expanded. */
export function planContexts(
  github: JsonObject = {},
  inputs: JsonObject = {},
  vars: JsonObject = {},
): Record<string, JsonValue> {
  return { github, inputs, vars, needs: {} };
}
