// Preloaded into the server by `BENCH_SERVER_NODE_OPTIONS='--require bench/support/cpu-profile-toggle.js'`
// (with PROF_DIR set): profiles the server while the file $PROF_DIR/on exists and writes
// $PROF_DIR/<n>.cpuprofile when it is removed, so one phase can be profiled (touch it when
// `phase 2/2` is logged, remove it at `cleanup`). A file, not a signal: Nest's shutdown hooks take
// SIGUSR2, and Node refuses --cpu-prof in NODE_OPTIONS. Samples are wall-clock: on a busy machine a
// descheduled process's time lands on whatever it was running.
'use strict';
const inspector = require('node:inspector');
const fs = require('node:fs');
const path = require('node:path');

const dir = process.env.PROF_DIR;
if (dir) {
  const session = new inspector.Session();
  session.connect();
  let on = false;
  let count = 0;
  setInterval(() => {
    const wanted = fs.existsSync(path.join(dir, 'on'));
    if (wanted && !on) {
      on = true;
      session.post('Profiler.enable', () => session.post('Profiler.setSamplingInterval', { interval: 500 }, () => session.post('Profiler.start')));
    } else if (!wanted && on) {
      on = false;
      session.post('Profiler.stop', (error, result) => {
        if (!error) fs.writeFileSync(path.join(dir, `${++count}.cpuprofile`), JSON.stringify(result.profile));
      });
    }
  }, 200).unref();
}
