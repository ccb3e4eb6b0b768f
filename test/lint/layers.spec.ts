import { ESLint } from 'eslint';
import boundaries from 'eslint-plugin-boundaries';
import { join } from 'node:path';
import tseslint from 'typescript-eslint';

// CommonJS config shared with eslint.config.mjs: the spec checks the rule `npm run lint` runs.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { layersConfig } = require('../../eslint.layers.cjs') as { layersConfig: (plugin: unknown) => Record<string, unknown> };

const ROOT = join(__dirname, '..', '..');

/**
 * The layer rule bites: snippets linted as if they sat at a given path, with only the layers block
 * (no type-aware rules, so the files need not exist and this stays fast).
 */
describe('layer lint rule (eslint-plugin-boundaries)', () => {
  const eslint = new ESLint({
    cwd: ROOT,
    overrideConfigFile: true,
    overrideConfig: [{ files: ['**/*.ts'], languageOptions: { parser: tseslint.parser } }, layersConfig(boundaries)],
  });

  async function problems(filePath: string, code: string): Promise<string[]> {
    const [result] = await eslint.lintText(code, { filePath });
    return result!.messages.map((m) => `${m.ruleId}: ${m.message}`);
  }

  it('refuses a lower layer importing a higher one, type-only imports included', async () => {
    expect(await problems('src/jobs/probe.ts', "import { SandboxesService } from 'src/sandboxes/sandboxes.service';\nexport const s = SandboxesService;\n")).toEqual([
      'boundaries/dependencies: layer "jobs" may not import "sandboxes" (a higher layer or a sibling); see docs/architecture.md, "Layers"',
    ]);
    expect(await problems('src/common/probe.ts', "import type { TenantContext } from 'src/tenancy/tenant-context';\nexport type T = TenantContext;\n")).toEqual([
      expect.stringContaining('layer "common" may not import "tenancy"'),
    ]);
    expect(await problems('src/session-links/probe.ts', "import { JobsService } from 'src/jobs/jobs.service';\nexport const j = JobsService;\n")).toEqual([
      expect.stringContaining('layer "session-links" may not import "jobs"'),
    ]);
  });

  it('refuses siblings of one layer importing each other', async () => {
    expect(await problems('src/workflows/probe.ts', "import { ApprovalsService } from 'src/approvals/approvals.service';\nexport const a = ApprovalsService;\n")).toEqual([
      expect.stringContaining('layer "workflows" may not import "approvals"'),
    ]);
  });

  it('allows imports downwards, within an element and of packages', async () => {
    const code = [
      "import { Module } from '@nestjs/common';",
      "import { join } from 'node:path';",
      "import { notFound } from 'src/common/errors/orcaops.error';",
      "import { JobsService } from 'src/jobs/jobs.service';",
      "import { SandboxesService } from 'src/sandboxes/sandboxes.service';",
      'export const all = [Module, join, notFound, JobsService, SandboxesService];',
    ].join('\n');
    expect(await problems('src/sandboxes/probe.ts', code)).toEqual([]);
  });

  it('keeps the database kernel below the features; only the entity list (composition root) names them', async () => {
    const entity = "import { JobEntity } from 'src/jobs/entities/job.entity';\nexport const e = JobEntity;\n";
    expect(await problems('src/database/data-source-options.ts', entity)).toEqual([]);
    expect(await problems('src/database/tenant-scoped.repository.ts', entity)).toEqual([expect.stringContaining('layer "database" may not import "jobs"')]);
  });

  it('refuses a source file outside every layer', async () => {
    expect(await problems('src/somewhere-new/probe.ts', 'export const x = 1;\n')).toEqual([expect.stringContaining('boundaries/no-unknown-files')]);
  });
});
