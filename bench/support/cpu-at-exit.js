// Preloaded with `node -r` by bench/cli-startup.ts: the process's own CPU time (user + system, ms) as
// the last line on stderr at exit. Wall times on a shared machine measure the queue for a core; CPU
// time is what the CLI itself costs.
'use strict';
process.on('exit', () => {
  const { user, system } = process.cpuUsage();
  process.stderr.write(`\ncpu_ms=${((user + system) / 1000).toFixed(1)}\n`);
});
