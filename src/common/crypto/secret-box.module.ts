import { Module } from '@nestjs/common';
import { SecretBox } from 'src/common/crypto/secret-box';
import { SECRETS_KEYS, secretsKeysProvider, SecretsKeysLoader } from 'src/config/secrets-key';

/**
 * The one SecretBox of a process, on the one secrets key (src/config/secrets-key.ts): workspace and
 * organisation secrets and registry passwords are sealed with it, so `rotate-secrets-key` covers both.
 */
@Module({
  providers: [
    secretsKeysProvider,
    // The key file is read (or created) on first use, not at boot.
    { provide: SecretBox, inject: [SECRETS_KEYS], useFactory: (keys: SecretsKeysLoader) => new SecretBox(keys) },
  ],
  exports: [SecretBox],
})
export class SecretBoxModule {}
