import 'reflect-metadata';
import { Command } from 'commander';
import { setFlagsFromString } from 'node:v8';

/**
 * A command module, required when its command is about to run (issue 20 item 8): `orcaops run` loads
 * the jobs commands and not the other twenty modules, and `--version` loads none. Relative paths
 * because the Nest build rewrites `src/` paths only in import declarations.
 */
function lazy<M>(path: string): () => M {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- deferred on purpose, see above
  return () => require(path) as M;
}

const admin = lazy<typeof import('./admin/admin.command')>('./admin/admin.command');
const approvals = lazy<typeof import('./commands/approvals.command')>('./commands/approvals.command');
const baselines = lazy<typeof import('./commands/baselines.command')>('./commands/baselines.command');
const audit = lazy<typeof import('./commands/audit.command')>('./commands/audit.command');
const doctor = lazy<typeof import('./commands/doctor.command')>('./commands/doctor.command');
const environments = lazy<typeof import('./commands/environments.command')>('./commands/environments.command');
const egress = lazy<typeof import('./commands/egress.command')>('./commands/egress.command');
const images = lazy<typeof import('./commands/images.command')>('./commands/images.command');
const jobs = lazy<typeof import('./commands/jobs.command')>('./commands/jobs.command');
const mcp = lazy<typeof import('./commands/mcp.command')>('./commands/mcp.command');
const metrics = lazy<typeof import('./commands/metrics.command')>('./commands/metrics.command');
const profiles = lazy<typeof import('./commands/profiles.command')>('./commands/profiles.command');
const policies = lazy<typeof import('./commands/policies.command')>('./commands/policies.command');
const quotas = lazy<typeof import('./commands/quotas.command')>('./commands/quotas.command');
const registry = lazy<typeof import('./commands/registry.command')>('./commands/registry.command');
const runs = lazy<typeof import('./commands/runs.command')>('./commands/runs.command');
const sandbox = lazy<typeof import('./commands/sandbox.command')>('./commands/sandbox.command');
const sandboxHistory = lazy<typeof import('./commands/sandbox-history.command')>('./commands/sandbox-history.command');
const sandboxInteraction = lazy<typeof import('./commands/sandbox-interaction.command')>('./commands/sandbox-interaction.command');
const secrets = lazy<typeof import('./commands/secrets.command')>('./commands/secrets.command');
const serve = lazy<typeof import('./commands/serve.command')>('./commands/serve.command');
const session = lazy<typeof import('./commands/session.command')>('./commands/session.command');
const sessions = lazy<typeof import('./commands/sessions.command')>('./commands/sessions.command');
const tokens = lazy<typeof import('./commands/tokens.command')>('./commands/tokens.command');
const workflow = lazy<typeof import('./commands/workflow.command')>('./commands/workflow.command');
const workspaces = lazy<typeof import('./commands/workspaces.command')>('./commands/workspaces.command');

/**
 * Every top-level command in help order: its name and aliases (what the command line is matched
 * against before any module loads) and how to build it. test/fast/cli-startup.fast.spec.ts checks the
 * names against the built commands.
 */
export const TOP_LEVEL_COMMANDS: ReadonlyArray<{ names: readonly string[]; build: () => Command }> = [
  { names: ['serve'], build: () => serve().serveCommand() },
  { names: ['login'], build: () => session().loginCommand() },
  { names: ['me'], build: () => session().meCommand() },
  { names: ['run'], build: () => jobs().runCommand() },
  { names: ['jobs'], build: () => jobs().jobsCommand() },
  { names: ['runs'], build: () => runs().runsCommand() },
  { names: ['sandbox', 'sandboxes'], build: () => sandbox().sandboxCommand([...sandboxInteraction().sandboxInteractionCommands(), sandboxHistory().sandboxHistoryCommand()]) },
  { names: ['sessions', 'session'], build: () => sessions().sessionsCommand() },
  { names: ['audit'], build: () => audit().auditCommand() },
  { names: ['egress'], build: () => egress().egressCommand() },
  { names: ['workflow'], build: () => workflow().workflowCommand() },
  // Environments (issue 20 item 1): a sandbox plus companion services.
  { names: ['templates'], build: () => environments().templatesCommand() },
  { names: ['init'], build: () => environments().initCommand() },
  { names: ['up'], build: () => environments().upCommand() },
  { names: ['down'], build: () => environments().downCommand() },
  { names: ['ls'], build: () => environments().lsCommand() },
  { names: ['workspaces'], build: () => workspaces().workspacesCommand() },
  { names: ['tokens'], build: () => tokens().tokensCommand() },
  { names: ['quotas'], build: () => quotas().quotasCommand() },
  { names: ['usage'], build: () => quotas().usageCommand() },
  { names: ['metrics'], build: () => metrics().metricsCommand() },
  { names: ['baselines'], build: () => baselines().baselinesCommand() },
  { names: ['anomalies'], build: () => baselines().anomaliesCommand() },
  { names: ['admin'], build: () => admin().adminCommand() },
  { names: ['images'], build: () => images().imagesCommand() },
  { names: ['profiles'], build: () => profiles().profilesCommand() },
  { names: ['doctor'], build: () => doctor().doctorCommand() },
  // Policies and approvals (issue 5)
  { names: ['policies'], build: () => policies().policiesCommand() },
  { names: ['approvals'], build: () => approvals().approvalsCommand() },
  { names: ['registry'], build: () => registry().registryCommand() },
  { names: ['secrets'], build: () => secrets().secretsCommand() },
  { names: ['mcp'], build: () => mcp().mcpCommand() },
  { names: ['openapi'], build: () => mcp().openapiCommand() },
];

/** The command `args` names: the first word that is not an option (every global option is a flag). */
function commandWord(args: readonly string[]): string | undefined {
  return args.find((a) => !a.startsWith('-'));
}

/**
 * Which top-level commands `args` (the arguments after the program name) needs: the one it names, none
 * for `--version` alone, and all of them otherwise (help, `help CMD`, a typo that gets "did you mean").
 */
function commandsFor(args: readonly string[]): ReadonlyArray<{ build: () => Command }> {
  const word = commandWord(args);
  const named = word === undefined ? undefined : TOP_LEVEL_COMMANDS.find((c) => c.names.includes(word));
  if (named) return [named];
  const options = word === undefined ? args : args.slice(0, args.indexOf(word));
  if (options.some((a) => a === '--version' || a === '-V') && !options.some((a) => a === '--help' || a === '-h')) return [];
  return TOP_LEVEL_COMMANDS;
}

/**
 * The `orcaops` program: every command (tests run it in-process this way), or, given the command line
 * (`process.argv.slice(2)`), only what it needs.
 */
export function buildProgram(args?: readonly string[]): Command {
  const program = new Command('orcaops')
    .description('OrcaOps: run code safely in locked-down containers (jobs, sandboxes, workflows)')
    .version('0.1.0')
    .option('--json', 'machine-readable output')
    .showHelpAfterError();
  for (const command of args ? commandsFor(args) : TOP_LEVEL_COMMANDS) program.addCommand(command.build());
  return program;
}

/**
 * The binary's entry (bin/orcaops.js). fetch parses HTTP with llhttp compiled to WebAssembly; V8
 * optimises that module on a background thread and the process waits for it before exiting: 0.4-0.7 s
 * after the last response of a short command on a busy 2-core machine, ~50 ms of CPU on a quiet one.
 * Baseline (Liftoff) code parses a CLI's few responses just as well. Set before the first fetch, and
 * not for `serve`, a long-lived server.
 */
export function startCli(argv: readonly string[] = process.argv): Promise<Command> {
  const args = argv.slice(2);
  if (commandWord(args) !== 'serve') setFlagsFromString('--liftoff-only');
  return buildProgram(args).parseAsync(argv);
}

if (require.main === module) {
  void startCli();
}
