import 'reflect-metadata';
import { Command } from 'commander';
import { adminCommand } from 'src/cli/admin/admin.command';
import { approvalsCommand } from 'src/cli/commands/approvals.command';
import { registryCommand } from 'src/cli/commands/registry.command';
import { auditCommand } from 'src/cli/commands/audit.command';
import { egressCommand } from 'src/cli/commands/egress.command';
import { sessionsCommand } from 'src/cli/commands/sessions.command';
import { jobsCommand, runCommand } from 'src/cli/commands/jobs.command';
import { quotasCommand, usageCommand } from 'src/cli/commands/quotas.command';
import { metricsCommand } from 'src/cli/commands/metrics.command';
import { mcpCommand, openapiCommand } from 'src/cli/commands/mcp.command';
import { sandboxInteractionCommands } from 'src/cli/commands/sandbox-interaction.command';
import { sandboxCommand } from 'src/cli/commands/sandbox.command';
import { sandboxHistoryCommand } from 'src/cli/commands/sandbox-history.command';
import { loginCommand, meCommand } from 'src/cli/commands/session.command';
import { secretsCommand } from 'src/cli/commands/secrets.command';
import { serveCommand } from 'src/cli/commands/serve.command';
import { doctorCommand } from 'src/cli/commands/doctor.command';
import { imagesCommand } from 'src/cli/commands/images.command';
import { policiesCommand } from 'src/cli/commands/policies.command';
import { profilesCommand } from 'src/cli/commands/profiles.command';
import { tokensCommand } from 'src/cli/commands/tokens.command';
import { workflowCommand } from 'src/cli/commands/workflow.command';
import { workspacesCommand } from 'src/cli/commands/workspaces.command';

/** Every command, for `orcaops` and for tests that run the CLI in-process. */
export function buildProgram(): Command {
  const program = new Command('orcaops')
    .description('OrcaOps: run code safely in locked-down containers (jobs, sandboxes, workflows)')
    .version('0.1.0')
    .option('--json', 'machine-readable output')
    .showHelpAfterError();
  program.addCommand(serveCommand());
  program.addCommand(loginCommand());
  program.addCommand(meCommand());
  program.addCommand(runCommand());
  program.addCommand(jobsCommand());
  program.addCommand(sandboxCommand([...sandboxInteractionCommands(), sandboxHistoryCommand()]));
  program.addCommand(sessionsCommand());
  program.addCommand(auditCommand());
  program.addCommand(egressCommand());
  program.addCommand(workflowCommand());
  program.addCommand(workspacesCommand());
  program.addCommand(tokensCommand());
  program.addCommand(quotasCommand());
  program.addCommand(usageCommand());
  program.addCommand(metricsCommand());
  program.addCommand(adminCommand());
  program.addCommand(imagesCommand());
  program.addCommand(profilesCommand());
  program.addCommand(doctorCommand());
  // Policies and approvals (issue 5)
  program.addCommand(policiesCommand());
  program.addCommand(approvalsCommand());
  program.addCommand(registryCommand());
  program.addCommand(secretsCommand());
  program.addCommand(mcpCommand());
  program.addCommand(openapiCommand());
  return program;
}

if (require.main === module) {
  void buildProgram().parseAsync(process.argv);
}
