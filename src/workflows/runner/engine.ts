/** The runner's door to the engine's pure decision functions (src/workflows/engine/decide.ts). */
export { applyDecision, cancelRun, decide, initialRunState, needsContext, recordInstanceResult } from 'src/workflows/engine/decide';
export type { InstanceResult } from 'src/workflows/engine/decide';
