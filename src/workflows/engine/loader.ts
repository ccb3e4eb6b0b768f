/**
 * Loads a workflow file (GitHub Actions syntax plus OrcaOps extensions and the predecessor's aliases)
 * into the normalised Workflow, with every problem reported at file:line:column (design §2).
 */
import type { Node } from 'yaml';
import { LineCounter, parseDocument } from 'yaml';
import { duplicateYamlKeys, INPUT_LIMITS, yamlDocumentProblem, yamlTextProblem } from 'src/common/input-limits';
import type { ExpressionSite } from 'src/workflows/engine/expression-sites';
import { CONTEXTS } from 'src/workflows/engine/expression-sites';
import type { JobReadContext } from 'src/workflows/engine/load-steps';
import {
  addMapSites,
  addSite,
  readCondition,
  readContainer,
  readServices,
  readSteps,
} from 'src/workflows/engine/load-steps';
import {
  DEFAULT_RETRY,
  readArtifacts,
  readMatrix,
  readRetry,
  readStrategy,
} from 'src/workflows/engine/load-strategy';
import type {
  JobSpec,
  LoadOptions,
  LoadResult,
  RunDefaults,
  StepSpec,
  Workflow,
  WorkflowInputSpec,
} from 'src/workflows/engine/model';
import { DEFAULT_JOB_TIMEOUT_MINUTES } from 'src/workflows/engine/model';
import { validateWorkflow } from 'src/workflows/engine/validate';
import type { MapEntry } from 'src/workflows/engine/yaml-reader';
import { parseDuration, YamlReader } from 'src/workflows/engine/yaml-reader';

const TOP_KEYS = new Set([
  'name',
  'description',
  'on',
  'inputs',
  'env',
  'defaults',
  'jobs',
  'max-parallel',
  'timeout',
  'platforms',
  'cleanup',
]);
const GITHUB_ONLY_TOP_KEYS = new Set(['concurrency', 'permissions', 'run-name']);
const JOB_KEYS = new Set([
  'name',
  'needs',
  'if',
  'runs-on',
  'image',
  'container',
  'services',
  'env',
  'defaults',
  'strategy',
  'continue-on-error',
  'timeout-minutes',
  'timeout',
  'outputs',
  'steps',
  'retry',
  'artifacts',
  'download',
  'workspace',
]);
const GITHUB_ONLY_JOB_KEYS = new Set(['concurrency', 'environment', 'permissions']);
const REUSABLE_WORKFLOW_KEYS = new Set(['uses', 'with', 'secrets']);
const SEED_JOB_KEYS = new Set(['requires', 'commands', 'on_complete', 'matrix']);
/** The longest run `timeout:` a workflow file can set. */
const MAX_RUN_TIMEOUT_MS = 24 * 3_600_000;
const UNSUPPORTED_RUNNER = /\b(windows|macos|mac-os|osx)\b|^(windows|macos)/i;

interface LoadState {
  reader: YamlReader;
  sites: ExpressionSite[];
  options: LoadOptions;
  text: string;
}

export function loadWorkflow(text: string, options: LoadOptions = {}): LoadResult {
  // Checked before parsing (the parser is superlinear on deep flow nesting) and before anything walks
  // the document (aliases expand exponentially): docs/security.md, "Tenant input limits".
  if (text.length > INPUT_LIMITS.maxWorkflowYamlChars) {
    return { diagnostics: [limitDiagnostic(`the workflow file is ${text.length} characters, over the limit of ${INPUT_LIMITS.maxWorkflowYamlChars}`)] };
  }
  const textProblem = yamlTextProblem(text);
  if (textProblem) return { diagnostics: [limitDiagnostic(textProblem)] };
  const lineCounter = new LineCounter();
  // Duplicate keys are found below in linear time (the parser's own check is quadratic).
  const doc = parseDocument(text, { lineCounter, merge: true, uniqueKeys: false, prettyErrors: true });
  const docProblem = doc.errors.length ? undefined : yamlDocumentProblem(doc);
  if (docProblem) return { diagnostics: [limitDiagnostic(docProblem)] };
  const reader = new YamlReader(doc, lineCounter);
  for (const { key, node } of doc.errors.length ? [] : duplicateYamlKeys(doc)) reader.error('yaml', `Map keys must be unique ('${key}')`, '', node);
  for (const error of doc.errors) {
    const pos = error.linePos?.[0] ?? { line: 1, col: 1 };
    reader.diagnostics.push({
      severity: 'error',
      code: 'yaml',
      message: error.message.split('\n')[0] ?? error.message,
      path: '',
      line: pos.line,
      column: pos.col,
    });
  }
  if (doc.errors.length > 0 || reader.diagnostics.length > 0) return { diagnostics: reader.diagnostics };
  const state: LoadState = { reader, sites: [], options, text };
  const workflow = readWorkflow(state, doc.contents);
  if (workflow) validateWorkflow(workflow, reader, state.sites);
  const diagnostics = sortDiagnostics(reader.diagnostics);
  const failed = !workflow || diagnostics.some((d) => d.severity === 'error');
  return failed ? { diagnostics } : { workflow, diagnostics };
}

function limitDiagnostic(message: string): LoadResult['diagnostics'][number] {
  return { severity: 'error', code: 'limit', message, path: '', line: 1, column: 1 };
}

function sortDiagnostics(diagnostics: LoadResult['diagnostics']): LoadResult['diagnostics'] {
  return [...diagnostics].sort((a, b) => a.line - b.line || a.column - b.column);
}

/** `file:line:column: severity: message` lines, as printed by the CLI. */
export function formatDiagnostics(diagnostics: LoadResult['diagnostics'], file = '<workflow>'): string {
  return diagnostics.map((d) => `${file}:${d.line}:${d.column}: ${d.severity}: ${d.message}`).join('\n');
}

// ─── Top level ──────────────────────────────────────────────────────────────────────────────────────

function readWorkflow(state: LoadState, root: Node | null): Workflow | undefined {
  const { reader } = state;
  const entries = reader.map(root, '');
  if (!entries) return undefined;
  const workflow: Workflow = {
    name: state.options.file?.replace(/^.*\//, '').replace(/\.ya?ml$/, '') ?? 'workflow',
    file: state.options.file ?? '<inline>',
    env: {},
    defaults: {},
    inputs: {},
    jobs: [],
    platforms: {},
    cleanup: 'always',
  };
  for (const entry of entries) readTopField(state, workflow, entry);
  if (!entries.some((e) => e.key === 'jobs'))
    reader.error('no-jobs', 'Required property is missing: jobs', '', root);
  return workflow;
}

function readTopField(state: LoadState, workflow: Workflow, entry: MapEntry): void {
  const { reader } = state;
  const { key, value, path } = entry;
  if (GITHUB_ONLY_TOP_KEYS.has(key))
    return reader.warn('ignored-key', `'${key}' only matters on GitHub; ignored`, path, entry.keyNode);
  if (!TOP_KEYS.has(key))
    return reader.error('unknown-key', `Unexpected value '${key}'`, path, entry.keyNode);
  switch (key) {
    case 'name':
      workflow.name = reader.string(value, path, true) ?? workflow.name;
      return;
    case 'description':
      return void reader.string(value, path);
    case 'on':
      reader.warn('ignored-key', "'on' (triggers) only matters on GitHub; ignored", path, entry.keyNode);
      return readDispatchInputs(state, workflow, entry);
    case 'inputs':
      return void Object.assign(workflow.inputs, readInputs(state, value, path));
    case 'env':
      return readWorkflowEnv(state, workflow, entry);
    case 'defaults':
      workflow.defaults = readDefaults(state, value, path);
      return;
    case 'jobs':
      workflow.jobs = readJobs(state, value, path);
      return;
    default:
      return readNativeTopField(state, workflow, entry);
  }
}

function readNativeTopField(state: LoadState, workflow: Workflow, entry: MapEntry): void {
  const { reader } = state;
  if (entry.key === 'max-parallel') {
    const value = reader.integer(entry.value, entry.path, 1);
    if (value !== undefined) workflow.maxParallel = value;
  } else if (entry.key === 'timeout') {
    const ms = parseDuration(reader.scalarValue(entry.value));
    if (ms === undefined || ms <= 0)
      reader.error('bad-type', `'timeout' must be a duration such as 90m or 2h`, entry.path, entry.value);
    // Clamped: a run cannot ask to outlive a day (docs/workflows.md, "Clamps and limits").
    else workflow.timeoutMs = Math.min(ms, MAX_RUN_TIMEOUT_MS);
  } else if (entry.key === 'platforms') {
    workflow.platforms = reader.stringMap(entry.value, entry.path);
  } else if (entry.key === 'cleanup') {
    // Only `always` is what the runner does: every finished instance's containers, networks and volumes
    // are removed (kept ones would hold quota and engine resources with no owner to end them). The
    // other values were once parsed and then ignored; they are refused so a file never promises them.
    const value = reader.string(entry.value, entry.path);
    if (value === 'always') workflow.cleanup = value;
    else if (value === 'on-success' || value === 'never')
      reader.error('unsupported-cleanup', `'cleanup: ${value}' is not supported: OrcaOps always removes a finished instance's containers, networks and volumes (use 'cleanup: always' or leave the key out; keep files with artifacts or upload-artifact)`, entry.path, entry.value);
    else reader.error('bad-type', `'cleanup' must be always (the only supported value)`, entry.path, entry.value);
  }
}

function readWorkflowEnv(state: LoadState, workflow: Workflow, entry: MapEntry): void {
  workflow.env = state.reader.stringMap(entry.value, entry.path);
  for (const [name, text] of Object.entries(workflow.env)) {
    if (text.includes('${{'))
      state.sites.push({
        path: `${entry.path}.${name}`,
        text,
        kind: 'template',
        contexts: CONTEXTS.workflowEnv,
      });
  }
}

/** `on.workflow_dispatch.inputs` serves as the inputs schema. */
function readDispatchInputs(state: LoadState, workflow: Workflow, entry: MapEntry): void {
  const { reader } = state;
  if (!reader.isMap(entry.value)) return;
  const dispatch = (reader.map(entry.value, entry.path) ?? []).find((e) => e.key === 'workflow_dispatch');
  if (!dispatch || !reader.isMap(dispatch.value)) return;
  const inputs = (reader.map(dispatch.value, dispatch.path) ?? []).find((e) => e.key === 'inputs');
  if (inputs && !reader.isNull(inputs.value))
    Object.assign(workflow.inputs, readInputs(state, inputs.value, inputs.path));
}

function readInputs(state: LoadState, node: Node | null, path: string): Record<string, WorkflowInputSpec> {
  const { reader } = state;
  const inputs: Record<string, WorkflowInputSpec> = {};
  for (const entry of reader.map(node, path) ?? []) {
    const fields = reader.isNull(entry.value) ? [] : (reader.map(entry.value, entry.path) ?? []);
    const get = (key: string): MapEntry | undefined => fields.find((f) => f.key === key);
    const rawType = reader.scalarValue(get('type')?.value ?? null);
    const type = typeof rawType === 'string' ? rawType : 'string';
    const input: WorkflowInputSpec = {
      type: (['string', 'boolean', 'number', 'choice'].includes(type)
        ? type
        : 'string') as WorkflowInputSpec['type'],
      required: reader.scalarValue(get('required')?.value ?? null) === true,
    };
    const description = reader.scalarValue(get('description')?.value ?? null);
    if (typeof description === 'string') input.description = description;
    if (get('default')) input.default = reader.json(get('default')?.value ?? null);
    if (get('options'))
      input.options = reader.stringList(get('options')?.value ?? null, `${entry.path}.options`) ?? [];
    inputs[entry.key] = input;
  }
  return inputs;
}

function readDefaults(state: LoadState, node: Node | null, path: string): RunDefaults {
  const { reader } = state;
  const defaults: RunDefaults = {};
  for (const entry of reader.map(node, path) ?? []) {
    if (entry.key !== 'run') {
      reader.error('unknown-key', `Unexpected value '${entry.key}' in defaults`, entry.path, entry.keyNode);
      continue;
    }
    for (const field of reader.map(entry.value, entry.path) ?? []) {
      if (field.key === 'shell') defaults.shell = reader.string(field.value, field.path);
      else if (field.key === 'working-directory')
        defaults.workingDirectory = reader.string(field.value, field.path);
      else
        reader.error(
          'unknown-key',
          `Unexpected value '${field.key}' in defaults.run`,
          field.path,
          field.keyNode,
        );
    }
  }
  return defaults;
}

// ─── Jobs ───────────────────────────────────────────────────────────────────────────────────────────

function readJobs(state: LoadState, node: Node | null, path: string): JobSpec[] {
  const entries = state.reader.map(node, path) ?? [];
  if (entries.length === 0)
    state.reader.error('no-jobs', 'The workflow must contain at least one job', path, node);
  return entries
    .map((entry, order) => readJob(state, entry, order))
    .filter((j): j is JobSpec => j !== undefined);
}

function newJob(state: LoadState, entry: MapEntry, order: number): JobSpec {
  return {
    id: entry.key,
    order,
    needs: [],
    services: [],
    env: {},
    defaults: {},
    continueOnError: false,
    timeoutMinutes: DEFAULT_JOB_TIMEOUT_MINUTES,
    outputs: {},
    steps: [],
    retry: { ...DEFAULT_RETRY, backoff: { ...DEFAULT_RETRY.backoff } },
    artifacts: [],
    download: [],
    loc: state.reader.loc(entry.keyNode),
  };
}

function readJob(state: LoadState, entry: MapEntry, order: number): JobSpec | undefined {
  const { reader } = state;
  const fields = reader.map(entry.value, entry.path);
  if (!fields) return undefined;
  const job = newJob(state, entry, order);
  const ctx: JobReadContext = {
    reader,
    sites: state.sites,
    jobId: job.id,
    skipUnsupported: state.options.skipUnsupported === true,
  };
  for (const field of fields) readJobField(state, ctx, job, field);
  applySeedAliases(state, ctx, job, fields);
  checkJobShape(state, job, fields, entry);
  return job;
}

function readJobField(state: LoadState, ctx: JobReadContext, job: JobSpec, field: MapEntry): void {
  const { reader } = state;
  if (GITHUB_ONLY_JOB_KEYS.has(field.key))
    return reader.warn(
      'ignored-key',
      `'${field.key}' only matters on GitHub; ignored`,
      field.path,
      field.keyNode,
    );
  if (REUSABLE_WORKFLOW_KEYS.has(field.key)) {
    return reader.error(
      'unsupported',
      `Job '${job.id}' uses '${field.key}': reusable workflows are not supported`,
      field.path,
      field.keyNode,
    );
  }
  if (SEED_JOB_KEYS.has(field.key)) return;
  if (!JOB_KEYS.has(field.key))
    return reader.error(
      'unknown-key',
      `Unexpected value '${field.key}' in job '${job.id}'`,
      field.path,
      field.keyNode,
    );
  readKnownJobField(state, ctx, job, field);
}

function readKnownJobField(state: LoadState, ctx: JobReadContext, job: JobSpec, field: MapEntry): void {
  const { reader } = state;
  const { key, value, path } = field;
  switch (key) {
    case 'name':
      job.name = reader.string(value, path, true);
      return addSite(ctx, { path, text: job.name ?? '', kind: 'template', contexts: CONTEXTS.jobMeta });
    case 'needs':
      job.needs = reader.stringList(value, path) ?? [];
      return;
    case 'if':
      job.if = readCondition(ctx, field, CONTEXTS.jobIf);
      return;
    case 'runs-on':
      return readRunsOn(state, ctx, job, field);
    case 'image':
      job.image = reader.string(value, path);
      return addSite(ctx, { path, text: job.image ?? '', kind: 'template', contexts: CONTEXTS.jobMeta });
    case 'container':
      job.container = readContainer(ctx, value, path);
      return;
    case 'services':
      job.services = readServices(ctx, value, path);
      return;
    case 'env':
      job.env = reader.stringMap(value, path);
      return addMapSites(ctx, job.env, path, CONTEXTS.jobEnv);
    default:
      return readMoreJobFields(state, ctx, job, field);
  }
}

function readMoreJobFields(state: LoadState, ctx: JobReadContext, job: JobSpec, field: MapEntry): void {
  const { reader } = state;
  const { key, value, path } = field;
  switch (key) {
    case 'defaults':
      job.defaults = readDefaults(state, value, path);
      return;
    case 'strategy':
      job.strategy = readStrategy(ctx, value, path, state.text);
      return;
    case 'continue-on-error':
      job.continueOnError = reader.templatedBoolean(value, path) ?? false;
      return addSite(ctx, {
        path,
        text: String(job.continueOnError),
        kind: 'template',
        contexts: CONTEXTS.jobMeta,
      });
    case 'timeout-minutes':
      job.timeoutMinutes = reader.templatedNumber(value, path) ?? DEFAULT_JOB_TIMEOUT_MINUTES;
      return addSite(ctx, {
        path,
        text: String(job.timeoutMinutes),
        kind: 'template',
        contexts: CONTEXTS.jobMeta,
      });
    case 'timeout':
      return readJobTimeout(state, job, field);
    case 'outputs':
      job.outputs = reader.stringMap(value, path);
      return addMapSites(ctx, job.outputs, path, CONTEXTS.jobOutputs);
    case 'steps':
      job.steps = readSteps(ctx, value, path);
      return;
    case 'retry':
      job.retry = readRetry(ctx, value, path);
      return;
    case 'artifacts':
      job.artifacts = readArtifacts(ctx, value, path);
      return;
    case 'download':
      job.download = reader.stringList(value, path) ?? [];
      return;
    default:
      return void reader.string(value, path); // workspace
  }
}

/** `timeout: 90m` (native duration) or the predecessor's `timeout: <seconds>`. */
function readJobTimeout(state: LoadState, job: JobSpec, field: MapEntry): void {
  const { reader } = state;
  const raw = reader.scalarValue(field.value);
  if (typeof raw === 'number')
    reader.warn(
      'deprecated',
      "'timeout' in seconds is the predecessor's form; use a duration (10m) or timeout-minutes",
      field.path,
      field.value,
    );
  const ms = parseDuration(raw);
  if (ms === undefined || ms <= 0)
    return reader.error(
      'bad-type',
      `'${field.path}' must be a duration such as 10m`,
      field.path,
      field.value,
    );
  job.timeoutMinutes = ms / 60_000;
}

function readRunsOn(state: LoadState, ctx: JobReadContext, job: JobSpec, field: MapEntry): void {
  const { reader } = state;
  let labels: string[] | undefined;
  if (reader.isMap(field.value)) {
    const group = (reader.map(field.value, field.path) ?? []).find((e) => e.key === 'labels');
    labels = group ? reader.stringList(group.value, group.path) : [];
  } else labels = reader.stringList(field.value, field.path);
  if (!labels) return;
  job.runsOn = labels.length === 1 ? labels[0] : labels;
  for (const label of labels)
    addSite(ctx, { path: field.path, text: label, kind: 'template', contexts: CONTEXTS.jobMeta });
  const unsupported = labels.find((l) => !l.includes('${{') && UNSUPPORTED_RUNNER.test(l));
  if (unsupported) {
    job.unsupportedRunner = unsupported;
    reader.warn(
      'unsupported-runner',
      `Job '${job.id}' runs on '${unsupported}', which has no Linux image mapping (skipped)`,
      field.path,
      field.value,
    );
  }
}

// ─── The predecessor's aliases ──────────────────────────────────────────────────────────────────────

function applySeedAliases(state: LoadState, ctx: JobReadContext, job: JobSpec, fields: MapEntry[]): void {
  const { reader } = state;
  const find = (key: string): MapEntry | undefined => fields.find((f) => f.key === key);
  const deprecated = (entry: MapEntry, replacement: string): void =>
    reader.warn('deprecated', `'${entry.key}' is deprecated; use ${replacement}`, entry.path, entry.keyNode);
  const requires = find('requires');
  if (requires) {
    deprecated(requires, "'needs'");
    if (find('needs'))
      reader.error(
        'alias-conflict',
        "Use either 'needs' or 'requires', not both",
        requires.path,
        requires.keyNode,
      );
    else job.needs = reader.stringList(requires.value, requires.path) ?? [];
  }
  const commands = find('commands');
  if (commands) {
    deprecated(commands, "'steps' with 'run'");
    if (find('steps'))
      reader.error(
        'alias-conflict',
        "Use either 'steps' or 'commands', not both",
        commands.path,
        commands.keyNode,
      );
    else job.steps = commandsToSteps(ctx, commands);
  }
  const onComplete = find('on_complete');
  if (onComplete) applyOnComplete(state, job, onComplete, deprecated);
  const matrix = find('matrix');
  if (matrix) applyJobMatrix(state, ctx, job, matrix, deprecated);
}

function commandsToSteps(ctx: JobReadContext, entry: MapEntry): StepSpec[] {
  const commands = ctx.reader.stringList(entry.value, entry.path) ?? [];
  return commands.map((script, index) => {
    addSite(ctx, {
      path: `${entry.path}[${index}]`,
      text: script,
      kind: 'template',
      contexts: CONTEXTS.step,
    });
    const id = index === 0 ? '__run' : `__run_${index + 1}`;
    return {
      index,
      id,
      generatedId: true,
      action: { kind: 'run', script },
      env: {},
      continueOnError: false,
      loc: ctx.reader.positionOf(`${entry.path}[${index}]`),
    };
  });
}

function applyOnComplete(
  state: LoadState,
  job: JobSpec,
  entry: MapEntry,
  deprecated: (e: MapEntry, r: string) => void,
): void {
  const { reader } = state;
  deprecated(entry, "'if' with success(), failure() or always()");
  const value = reader.string(entry.value, entry.path);
  if (value !== 'success' && value !== 'failure' && value !== 'always') {
    return reader.error(
      'bad-type',
      "'on_complete' must be success, failure or always",
      entry.path,
      entry.value,
    );
  }
  const condition = job.if ? `${value}() && (${stripWrapper(job.if)})` : `${value}()`;
  job.if = condition;
  const existing = state.sites.find((s) => s.path === `jobs.${job.id}.if`);
  if (existing) existing.text = condition;
}

function stripWrapper(condition: string): string {
  const match = /^\s*\$\{\{([\s\S]*)\}\}\s*$/.exec(condition);
  return match?.[1]?.trim() ?? condition;
}

function applyJobMatrix(
  state: LoadState,
  ctx: JobReadContext,
  job: JobSpec,
  entry: MapEntry,
  deprecated: (e: MapEntry, r: string) => void,
): void {
  deprecated(entry, "'strategy.matrix'");
  if (job.strategy)
    return state.reader.error(
      'alias-conflict',
      "Use either 'strategy' or 'matrix', not both",
      entry.path,
      entry.keyNode,
    );
  const matrix = readMatrix(ctx, entry.value, entry.path, state.text);
  if (matrix !== undefined) job.strategy = { kind: 'static', spec: { matrix, failFast: true } };
}

function checkJobShape(state: LoadState, job: JobSpec, fields: MapEntry[], entry: MapEntry): void {
  const { reader } = state;
  const has = (key: string): boolean => fields.some((f) => f.key === key);
  if (has('image') && has('container'))
    reader.error('bad-job', `Job '${job.id}' sets both 'image' and 'container'`, entry.path, entry.keyNode);
  if (has('timeout') && has('timeout-minutes'))
    reader.error(
      'bad-job',
      `Job '${job.id}' sets both 'timeout' and 'timeout-minutes'`,
      entry.path,
      entry.keyNode,
    );
  const usesReusable = fields.some((f) => f.key === 'uses');
  if (!has('steps') && !has('commands') && !usesReusable) {
    reader.error('no-steps', `Job '${job.id}' must have 'steps'`, entry.path, entry.keyNode);
  }
}
