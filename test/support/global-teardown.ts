import { rmSync } from 'node:fs';
import type { EmbeddedPostgresHandle } from '../../src/database/embedded-postgres';

export default async function globalTeardown(): Promise<void> {
  const handle = (globalThis as { __ORCAOPS_PG__?: EmbeddedPostgresHandle }).__ORCAOPS_PG__;
  if (handle) await handle.stop();
  if (process.env.ORCAOPS_TEST_PG_DIR) rmSync(process.env.ORCAOPS_TEST_PG_DIR, { recursive: true, force: true });
}
