// GitHub's expression evaluator (@actions/expressions) as an oracle for the differential spec
// (src/workflows/engine/expressions.oracle.spec.ts). The package is ESM-only and jest runs CommonJS,
// so the spec spawns `node` on this file: stdin is {contexts, cases: string[]}, stdout is one result
// per case. Numbers JSON cannot carry (NaN, ±Infinity, -0) travel as {"$n": "NaN"}; objects come back
// as {"$o": [[key, value], ...]} so key order and case-insensitive duplicates are visible.
import { Evaluator, Lexer, Parser, data } from '@actions/expressions';

const SPECIAL_NUMBERS = { NaN: NaN, Infinity: Infinity, '-Infinity': -Infinity, '-0': -0 };

// Status functions with a fixed outcome (a job whose earlier steps succeeded); the spec gives our
// evaluator the same answers.
const STATUS = { success: true, failure: false, cancelled: false, always: true };
const statusInfos = Object.keys(STATUS).map((name) => ({
  name,
  description: '',
  minArgs: 0,
  maxArgs: 0,
  call: () => new data.BooleanData(STATUS[name]),
}));
const statusFunctions = new Map(statusInfos.map((info) => [info.name, info]));

function toData(value) {
  if (value === null) return new data.Null();
  if (typeof value === 'boolean') return new data.BooleanData(value);
  if (typeof value === 'number') return new data.NumberData(value);
  if (typeof value === 'string') return new data.StringData(value);
  if (Array.isArray(value)) return new data.Array(...value.map(toData));
  if ('$n' in value) return new data.NumberData(SPECIAL_NUMBERS[value.$n]);
  return new data.Dictionary(...Object.entries(value).map(([key, v]) => ({ key, value: toData(v) })));
}

function encodeNumber(n) {
  if (Number.isNaN(n)) return { $n: 'NaN' };
  if (n === Infinity) return { $n: 'Infinity' };
  if (n === -Infinity) return { $n: '-Infinity' };
  if (Object.is(n, -0)) return { $n: '-0' };
  return n;
}

function fromData(d) {
  switch (d.kind) {
    case data.Kind.Null:
      return null;
    case data.Kind.Boolean:
    case data.Kind.String:
      return d.value;
    case data.Kind.Number:
      return encodeNumber(d.value);
    case data.Kind.Array:
      return d.values().map(fromData);
    default:
      return { $o: d.pairs().map(({ key, value }) => [key, fromData(value)]) };
  }
}

function evaluate(source, contexts) {
  try {
    const { tokens } = new Lexer(source).lex();
    const tree = new Parser(tokens, [...contexts.pairs().map((p) => p.key)], statusInfos).parse();
    const result = new Evaluator(tree, contexts, statusFunctions).evaluate();
    return { ok: true, value: fromData(result), text: result.coerceString() };
  } catch (err) {
    return { ok: false, error: String(err instanceof Error ? err.message : err) };
  }
}

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const input = JSON.parse(Buffer.concat(chunks).toString('utf8'));
const contexts = toData(input.contexts);
process.stdout.write(JSON.stringify(input.cases.map((source) => evaluate(source, contexts))));
