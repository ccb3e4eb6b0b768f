import { Command } from 'commander';
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { CliError } from 'src/cli/cli-error';
import { action, outputOptions } from 'src/cli/command-context';
import { info } from 'src/cli/output';
import {
  convertLegacySandboxes,
  isLegacySandboxes,
  legacyCatalogueYaml,
} from 'src/sandboxes/legacy-sandboxes';
import { parseSandboxProfiles, SandboxProfilesError } from 'src/sandboxes/sandbox-profiles';

/**
 * `orcaops profiles migrate FILE`: rewrites the predecessor's sandboxes.yml (`sandboxes:` list) as today's
 * `profiles:` map. Local only (no server). The result is loaded with the server's own loader before it is
 * printed or written, so a migrated file always starts a server.
 */
function migrateCommand(): Command {
  return new Command('migrate')
    .description(
      'Convert a sandboxes.yml in the old `sandboxes:` list format to `profiles:` (prints it; --write replaces FILE, keeping FILE.bak)',
    )
    .argument('<file>', 'the sandboxes.yml to convert')
    .option('--write', 'replace FILE with the converted catalogue (the original is kept as FILE.bak)', false)
    .action(
      // Synchronous work; run inside a promise so that `action` reports its errors like any command's.
      action((file: string, o: { write: boolean }, c: Command) =>
        Promise.resolve().then(() => {
          if (!existsSync(file)) throw new CliError('not_found', `${file}: no such file`);
          const text = readFileSync(file, 'utf8');
          const parsed = parseDocument(text);
          if (parsed.errors.length)
            throw new CliError('validation_failed', `${file}: YAML syntax: ${parsed.errors[0]!.message}`);
          const top: unknown = parsed.toJS();
          if (!isLegacySandboxes(top))
            throw new CliError(
              'bad_request',
              `${file} has no top-level sandboxes: list: nothing to migrate (it is already in the profiles: format, or not a sandboxes.yml)`,
            );
          const converted = convertLegacySandboxes(top, file, text);
          if (converted.problems.length)
            throw new CliError(
              'validation_failed',
              `${file} cannot be converted:\n  - ${converted.problems.join('\n  - ')}`,
              { problems: converted.problems },
            );
          const yaml = legacyCatalogueYaml(converted, file);
          try {
            parseSandboxProfiles(yaml, file);
          } catch (error) {
            if (error instanceof SandboxProfilesError)
              throw new CliError('validation_failed', error.message, { problems: error.problems });
            throw error;
          }
          for (const note of converted.notes) info(`note: ${note}`);
          const names = Object.keys(converted.catalogue.profiles);
          if (o.write) {
            copyFileSync(file, `${file}.bak`);
            writeFileSync(file, yaml);
            info(`${file}: ${names.length} profiles written (the original is in ${file}.bak)`);
          }
          if (outputOptions(c).json)
            process.stdout.write(
              `${JSON.stringify({ file, written: o.write, profiles: names, notes: converted.notes, catalogue: converted.catalogue }, null, 2)}\n`,
            );
          else if (!o.write) process.stdout.write(yaml);
        }),
      ),
    );
}

export function profilesCommand(): Command {
  return new Command('profiles')
    .description('Sandbox profile catalogues (sandboxes.yml) on this machine')
    .addCommand(migrateCommand());
}
