import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { operatorContext, withAdminContext } from 'src/cli/admin/admin-context';
import { CliError } from 'src/cli/cli-error';
import { SecretBox } from 'src/common/crypto/secret-box';
import { createPrivateFile, loadSecretsKeys, nextKeyFile, promoteNextKey } from 'src/config/secrets-key';
import { RegistryCredentialsService } from 'src/registries/registry-credentials.service';
import { SecretsService } from 'src/secrets/secrets.service';
import { WorkspacesService } from 'src/workspaces/workspaces.service';

function readKey(file: string): Buffer {
  let key: Buffer;
  try {
    key = Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
  } catch (error) {
    throw new CliError('usage', `cannot read ${file}: ${(error as Error).message}`);
  }
  if (key.length !== 32) throw new CliError('usage', `${file} must hold a 32-byte key in base64 (openssl rand -base64 32)`);
  return key;
}

/**
 * Key rotation. With the key file: the new key is written to secrets.key.next (0600, O_EXCL) first,
 * every value is re-sealed in one transaction, then secrets.key.next is renamed over secrets.key. A
 * crash between the commit and the rename leaves secrets.key.next, which the loader keeps as a
 * previous key (and this command reuses), so nothing becomes unreadable. With ORCAOPS_SECRETS_KEY the
 * new key comes from --new-key-file, and the operator sets the variable to it afterwards.
 */
export async function rotateSecretsKey(newKeyFile?: string): Promise<Record<string, unknown>> {
  const current = loadSecretsKeys();
  let next: Buffer;
  if (current.source === 'env') {
    if (!newKeyFile) throw new CliError('usage', 'ORCAOPS_SECRETS_KEY is set: give the new key with --new-key-file <path>');
    next = readKey(newKeyFile);
  } else {
    if (newKeyFile) throw new CliError('usage', '--new-key-file is for ORCAOPS_SECRETS_KEY; the key file rotates by itself');
    // An interrupted rotation left its key: finish with that one.
    createPrivateFile(nextKeyFile(current.file), `${randomBytes(32).toString('base64')}\n`);
    next = readKey(nextKeyFile(current.file));
  }
  const box = new SecretBox({ primary: next, previous: [] });
  const result = await withAdminContext(async (app) => {
    const ids = (await app.get(WorkspacesService).list(operatorContext())).map((w) => w.id);
    // Registry passwords share the key: re-sealed before the key file is replaced. Two transactions are
    // safe: until the rename both keys open (secrets.key.next is kept as a previous key), and a rerun
    // skips what is already under the new key.
    const secrets = await app.get(SecretsService).reseal(ids, box);
    const registryCredentials = await app.get(RegistryCredentialsService).reseal(ids, box);
    return { ...secrets, registry_credentials_resealed: registryCredentials };
  });
  if (current.source === 'file') promoteNextKey(current.file);
  return {
    ...result,
    ...(current.source === 'file' ? { key_file: current.file } : { next_step: 'set ORCAOPS_SECRETS_KEY to the new key, then start the server' }),
  };
}
