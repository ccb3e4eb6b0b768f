// Preloaded with `node -r` by test/fast/cli-startup.fast.spec.ts: at exit, writes every file the
// process loaded with require() (the keys of require.cache) to $ORCAOPS_TEST_LOADED_MODULES.
'use strict';
const { writeFileSync } = require('node:fs');

const out = process.env.ORCAOPS_TEST_LOADED_MODULES;
if (out) process.on('exit', () => writeFileSync(out, JSON.stringify(Object.keys(require.cache))));
