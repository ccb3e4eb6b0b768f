import { Module } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { appConfig } from 'src/config/orcaops.config';
import { ARTIFACT_STORAGE } from 'src/storage/artifact-storage.port';
import { artifactRoot, LocalArtifactStorage } from 'src/storage/local-artifact.storage';

@Module({
  providers: [
    {
      provide: ARTIFACT_STORAGE,
      inject: [appConfig.KEY],
      useFactory: (config: ConfigType<typeof appConfig>) => new LocalArtifactStorage(artifactRoot(config.home)),
    },
  ],
  exports: [ARTIFACT_STORAGE],
})
export class StorageModule {}
