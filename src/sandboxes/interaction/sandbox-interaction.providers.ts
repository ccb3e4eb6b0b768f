import { SandboxExecService } from 'src/sandboxes/interaction/sandbox-exec.service';
import { SandboxFilesService } from 'src/sandboxes/interaction/sandbox-files.service';
import { SandboxProcessesService } from 'src/sandboxes/interaction/sandbox-processes.service';
import { SandboxShellsService } from 'src/sandboxes/interaction/sandbox-shells.service';

export { SandboxInteractionController } from 'src/sandboxes/interaction/sandbox-interaction.controller';

/** Registered in SandboxesModule (they need SandboxesService and SandboxActivity from it). */
export const SANDBOX_INTERACTION_PROVIDERS = [SandboxExecService, SandboxShellsService, SandboxProcessesService, SandboxFilesService];
