import { Command } from 'commander';
import { action, outputOptions } from 'src/cli/command-context';
import { info, render } from 'src/cli/output';
import { loadAdminContext, loadAdminTokens, loadRotateSecretsKey } from 'src/cli/deferred';
import { addEngineCommands } from 'src/cli/admin/engine.commands';

export function adminCommand(): Command {
  const cmd = new Command('admin').description(
    'Operator commands: run on the server host, talk to the database directly (no token needed)',
  );
  cmd
    .command('create-token')
    .description('Create an organisation admin token (shown once)')
    .option('--name <name>', 'token name', 'admin')
    .option('--expires-in-days <days>', 'expiry in days', (v) => Number(v))
    .action(action(async (o: { name: string; expiresInDays?: number }, c: Command) => {
      const [{ operatorContext, withAdminContext }, { AdminTokensService }] = await Promise.all([loadAdminContext(), loadAdminTokens()]);
      const created = await withAdminContext((app) =>
        app.get(AdminTokensService).create(operatorContext(), o.name, o.expiresInDays),
      );
      render(outputOptions(c), created);
      if (!outputOptions(c).json) info('Store the token now: it is not shown again.');
    }));
  cmd
    .command('list-tokens')
    .description('List organisation admin tokens')
    .action(action(async (_o: object, c: Command) => {
      const [{ withAdminContext }, { AdminTokensService }] = await Promise.all([loadAdminContext(), loadAdminTokens()]);
      const tokens = await withAdminContext((app) => app.get(AdminTokensService).list());
      render(outputOptions(c), { items: tokens }, { columns: ['id', 'name', 'display_prefix', 'created_at', 'revoked_at', 'last_used_at'] });
    }));
  cmd
    .command('revoke-token <id>')
    .description('Revoke an organisation admin token')
    .action(action(async (id: string, _o: object, c: Command) => {
      const [{ operatorContext, withAdminContext }, { AdminTokensService }] = await Promise.all([loadAdminContext(), loadAdminTokens()]);
      render(outputOptions(c), await withAdminContext((app) => app.get(AdminTokensService).revoke(operatorContext(), id)));
    }));
  cmd
    .command('rotate-secrets-key')
    .description('Re-encrypt every secret with a new key (stop the server first, start it again after; docs/secrets.md)')
    .option('--new-key-file <path>', 'with ORCAOPS_SECRETS_KEY: a file holding the new key (base64 of 32 bytes); set ORCAOPS_SECRETS_KEY to it afterwards')
    .action(action(async (o: { newKeyFile?: string }, c: Command) => {
      const { rotateSecretsKey } = await loadRotateSecretsKey();
      render(outputOptions(c), await rotateSecretsKey(o.newKeyFile));
    }));
  cmd
    .command('migrate')
    .description('Apply pending database migrations (the server also does this on start)')
    .action(action(async (_o: object, c: Command) => {
      const { withAdminContext } = await loadAdminContext();
      await withAdminContext(() => Promise.resolve());
      render(outputOptions(c), { migrated: true });
    }));
  addEngineCommands(cmd);
  return cmd;
}
