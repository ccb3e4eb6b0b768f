#!/usr/bin/env node
// `npx orcaops` in a checkout after `npm run build`.
const { existsSync } = require('node:fs');
const { join } = require('node:path');
const entry = join(__dirname, '..', 'dist', 'src', 'cli', 'main.js');
if (!existsSync(entry)) {
  process.stderr.write('orcaops is not built yet: run `npm run build` (or scripts/setup.sh) first\n');
  process.exit(1);
}
void require(entry).startCli(process.argv);
