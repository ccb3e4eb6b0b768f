/**
 * Submit-time helpers: checking `inputs` against the workflow's declarations and evaluating the
 * workflow-level `env` (which may read github, inputs, vars and secrets) into the RunContext.
 */
import { interpolate } from 'src/workflows/engine/expressions';
import type { JsonObject, JsonValue, Workflow, WorkflowInputSpec } from 'src/workflows/engine/model';

export interface ResolvedInputs {
  inputs: JsonObject;
  /** One message per problem; empty when the inputs are acceptable. */
  errors: string[];
}

/** Applies defaults, converts `--input k=v` strings to the declared types, rejects unknown/missing ones. */
export function resolveInputs(workflow: Workflow, given: Record<string, JsonValue>): ResolvedInputs {
  const inputs: JsonObject = {};
  const errors: string[] = [];
  for (const name of Object.keys(given)) {
    if (!(name in workflow.inputs)) errors.push(`Unknown input '${name}'${declaredHint(workflow)}`);
  }
  for (const [name, spec] of Object.entries(workflow.inputs)) {
    const raw = name in given ? given[name] : spec.default;
    if (raw === undefined || raw === null) {
      if (spec.required) errors.push(`Input '${name}' is required`);
      else inputs[name] = spec.type === 'boolean' ? false : '';
      continue;
    }
    const converted = convertInput(name, spec, raw);
    if ('error' in converted) errors.push(converted.error);
    else inputs[name] = converted.value;
  }
  return { inputs, errors };
}

function declaredHint(workflow: Workflow): string {
  const names = Object.keys(workflow.inputs);
  return names.length === 0 ? ' (the workflow declares no inputs)' : ` (declared: ${names.join(', ')})`;
}

type Converted = { value: JsonValue } | { error: string };

function convertInput(name: string, spec: WorkflowInputSpec, raw: JsonValue): Converted {
  const text = typeof raw === 'string' ? raw.trim() : raw;
  switch (spec.type) {
    case 'boolean':
      if (text === true || text === 'true') return { value: true };
      if (text === false || text === 'false') return { value: false };
      return { error: `Input '${name}' must be true or false` };
    case 'number': {
      const number =
        typeof text === 'number' ? text : typeof text === 'string' && text !== '' ? Number(text) : NaN;
      return Number.isFinite(number) ? { value: number } : { error: `Input '${name}' must be a number` };
    }
    case 'choice': {
      const value = typeof raw === 'object' ? JSON.stringify(raw) : String(raw);
      return spec.options?.includes(value)
        ? { value }
        : { error: `Input '${name}' must be one of ${(spec.options ?? []).join(', ')}` };
    }
    default:
      return { value: typeof raw === 'object' ? JSON.stringify(raw) : String(raw) };
  }
}

/** Workflow `env` with its `${{ }}` evaluated (throws ExpressionError on a bad value). */
export function evaluateWorkflowEnv(
  workflow: Workflow,
  contexts: { github: JsonObject; inputs: JsonObject; vars: JsonObject },
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(workflow.env)) {
    env[name] = interpolate(value, { contexts: { ...contexts, secrets: {} } });
  }
  return env;
}
