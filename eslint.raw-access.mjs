// The raw-access lint rule of eslint.config.mjs: raw repositories and queries are errors in src/ except
// where src/database/raw-access.allowlist.ts grants them, one entry per file and kind, with a reason.
// test/integration/raw-access-allowlist.spec.ts checks the entries against TypeORM metadata and the code.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import ts from 'typescript';

const ALLOWLIST = 'src/database/raw-access.allowlist.ts';
const HINT = 'Reach tenant-owned rows through TenantScopedRepository (@InjectScopedRepository); otherwise add an entry with its reason to ' + ALLOWLIST + '.';

/** The allow-list module (selectors and entries) is plain data; transpiled here because ESLint loads this config as ESM. */
function loadAllowlist() {
  const url = new URL(ALLOWLIST, import.meta.url);
  const source = readFileSync(url, 'utf8');
  const { outputText } = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 } });
  const module = { exports: {} };
  new Function('module', 'exports', 'require', outputText)(module, module.exports, createRequire(url));
  return module.exports;
}

const { RAW_ACCESS_SELECTORS: SELECTORS, RAW_ACCESS_ALLOWLIST } = loadAllowlist();

/** The rule's options without the kinds in `granted`. */
export function rawAccessRule(granted = new Set()) {
  const selectors = Object.entries(SELECTORS)
    .filter(([call]) => !granted.has(call))
    .map(([call, selector]) => ({ selector, message: `Raw data access (${call}) outside the allow-list. ${HINT}` }));
  return selectors.length ? ['error', ...selectors] : 'off';
}

/** One config object per allow-listed file, turning off exactly the kinds its entries grant. */
export function rawAccessOverrides() {
  const granted = new Map();
  for (const entry of RAW_ACCESS_ALLOWLIST) {
    if (!SELECTORS[entry.call]) throw new Error(`${ALLOWLIST}: unknown call '${entry.call}' for ${entry.file}`);
    if (!granted.has(entry.file)) granted.set(entry.file, new Set());
    granted.get(entry.file).add(entry.call);
  }
  return [...granted].map(([file, calls]) => ({ files: [file], rules: { 'no-restricted-syntax': rawAccessRule(calls) } }));
}
