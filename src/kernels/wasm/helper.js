// A helper thread of warmstart's WebAssembly kernels: one plain ES module that Node's `worker_threads` and a
// browser's module Worker both run. Its first message is the start data (see `HelperInit` in pool.ts): the
// compiled kernels module, the shared memory, the control block's offset, this thread's index and options.
// It instantiates the module on that memory, answers `{ type: 'ready' }`, and from then on only watches the
// control block: for every new run the calling thread publishes (serial word + plan offset), it calls
// `plan_run(plan, index, 1, serial)`, which claims chunks of the plan's phases alongside the other threads.
// Between runs it spins for `spinMicros`, then sleeps in `Atomics.wait` on the serial word.
//
// Keep the word indices below in step with `CONTROL` in abi.ts.

/* global self, WebAssembly, performance */

const SERIAL = 0;
const PLAN = 16;
const STOP = 32;
const SLEEPERS = 48;
const HELPER_CHUNKS = 64;
const FAILED = 80;
const BUSY = 128;

const inBrowserWorker =
  typeof self === 'object' &&
  self !== null &&
  typeof self.postMessage === 'function' &&
  typeof window === 'undefined';

/** Sends a message to the thread that started this one. */
let post;

if (inBrowserWorker) {
  post = (message) => self.postMessage(message);
  self.addEventListener('message', (event) => void start(event.data), { once: true });
} else {
  // A specifier computed at run time (not a foldable 'node:' + '…', which Vite's bundler folds) keeps
  // bundlers that build this file for a browser from resolving a Node module; no top-level await, so that a
  // bundler may emit the worker as a classic script (Vite's default, iife). Messages the parent posts
  // meanwhile wait in the port until the listener is attached.
  const specifier = ['node', 'worker_threads'].join(':');
  void import(specifier).then(({ parentPort }) => {
    post = (message) => parentPort.postMessage(message);
    parentPort.once('message', (init) => void start(init));
  });
}

async function start(init) {
  let exports;
  try {
    const instance = await WebAssembly.instantiate(init.module, { env: { memory: init.memory } });
    exports = instance.exports;
  } catch (error) {
    post({ type: 'error', message: `cannot instantiate the kernels: ${describe(error)}` });
    return;
  }
  const words = new Int32Array(init.memory.buffer, init.control, 2048);
  // The serial as it was before 'ready': the caller publishes its first run only after every helper is ready,
  // so a run published before this thread's loop starts is still seen as new (read after 'ready', it could be
  // taken for one already served, and a caller that leaves chunks to the helpers would wait forever).
  const seen = Atomics.load(words, SERIAL);
  post({ type: 'ready' });
  serve(exports, words, init.index, init.spinMicros, seen);
}

function describe(error) {
  return String((error && error.stack) || error);
}

/** The helper's whole life after start: wait for a run, take part in it, repeat until the stop word. */
function serve(exports, words, index, spinMicros, seen) {
  const run = exports.plan_run;
  const busy = BUSY + 16 * index;
  let deadline = performance.now() + spinMicros / 1000;
  let spins = 0;
  for (;;) {
    const serial = Atomics.load(words, SERIAL);
    if (serial !== seen) {
      seen = serial;
      // Announce the run before reading its plan: a caller that drains the helpers (to free a plan) waits
      // until this word is 0, and republishes first, so a plan is never read after it is freed.
      Atomics.store(words, busy, serial === 0 ? 1 : serial);
      if (Atomics.load(words, SERIAL) === serial) {
        const plan = Atomics.load(words, PLAN);
        if (plan !== 0) {
          try {
            const ran = run(plan, index, 1, serial);
            if (ran > 0) Atomics.add(words, HELPER_CHUNKS, ran);
            else if (ran < 0) Atomics.store(words, FAILED, 1);
          } catch (error) {
            // The other threads would wait for this chunk forever: make them give up, and say why.
            Atomics.store(words, FAILED, 1);
            post({ type: 'error', message: describe(error) });
          }
        }
      }
      Atomics.store(words, busy, 0);
      deadline = performance.now() + spinMicros / 1000;
      continue;
    }
    if (Atomics.load(words, STOP) !== 0) break;
    if ((++spins & 255) === 0 && performance.now() > deadline) {
      // Count as a sleeper before the final check inside Atomics.wait: a caller either sees the count and
      // notifies, or published first and the wait returns at once.
      Atomics.add(words, SLEEPERS, 1);
      Atomics.wait(words, SERIAL, serial);
      Atomics.sub(words, SLEEPERS, 1);
      deadline = performance.now() + spinMicros / 1000;
    }
  }
}
