import { Module } from '@nestjs/common';
import { InstallationService } from 'src/database/installation.service';

/**
 * The installation id for features that label containers. Split from DatabaseModule, which lists every
 * entity and so sits above the features: a feature module imports this one, never DatabaseModule.
 */
@Module({ providers: [InstallationService], exports: [InstallationService] })
export class InstallationModule {}
