import { Command } from 'commander';
import { action, outputOptions } from 'src/cli/command-context';
import { loadDockerEngine, loadDoctor } from 'src/cli/deferred';
import { info, render } from 'src/cli/output';

export function doctorCommand(): Command {
  return new Command('doctor')
    .description('Check this host: Docker engine, standard images, database, Node.js, data directory')
    .action(
      action(async (_o: object, c: Command) => {
        const [{ localEngine }, { runDoctor }] = await Promise.all([loadDockerEngine(), loadDoctor()]);
        const report = await runDoctor(localEngine);
        render(outputOptions(c), report, {
          columns: ['check', 'status', 'detail'],
          items: () => report.checks.map((check) => ({ ...check })),
        });
        if (!outputOptions(c).json) {
          const fixes = report.checks.filter((check) => check.fix);
          if (fixes.length > 0)
            info(
              `\nWhat to do:\n${fixes.map((check) => `  - ${check.check}: ${check.fix ?? ''}`).join('\n')}`,
            );
          info(
            report.ok
              ? 'doctor: everything essential is in place'
              : 'doctor: something essential is missing (see above)',
          );
        }
        if (!report.ok) process.exitCode = 1;
      }),
    );
}
