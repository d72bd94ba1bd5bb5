// A node agent that dies at a chosen instant: the fault-injection tests run this in a child
// process with the built runtime (libs/runtime-core/dist) and SIGKILL it mid-start or mid-delete.
// argv[2]: JSON { options, spec, at: { afterPhases: n, delayMs?: n } | { deleteAfterMs: n } | { releasing: step } }
import { SandboxRuntime } from '../../../dist/index.js';

const { options, spec, at } = JSON.parse(process.argv[2]);
const die = () => process.kill(process.pid, 'SIGKILL');
let deleting = false;
// The runtime logs each release step as it begins: a delete dies as the named one does.
const log = (_level, msg, fields) => {
  if (deleting && msg === 'releasing' && fields?.step === at.releasing) die();
};
const runtime = await SandboxRuntime.open({ ...options, log });
if ('afterPhases' in at) {
  // Dies `delayMs` into the start's phase number `afterPhases` (0: the first).
  let armed = false;
  const arm = () => {
    if (armed) return;
    armed = true;
    setTimeout(die, at.delayMs ?? 0);
  };
  if (at.afterPhases === 0) arm();
  await runtime.create(spec, (info) => {
    if (info.timings.length >= at.afterPhases) arm();
  });
  // Got through every phase without reaching the mark: say so, and die anyway.
  console.log('started');
  die();
} else {
  await runtime.create(spec);
  deleting = true;
  if ('deleteAfterMs' in at) setTimeout(die, at.deleteAfterMs);
  await runtime.delete(spec.id);
  console.log('deleted');
  die();
}
