// Every property test of kernels-wasm.test.ts (products, activations forward and backward, losses and their
// gradients, optimizers, utilities) again on the plain SIMD128 build: the build engines without relaxed SIMD
// run (Safari, older Chromium and Node), which the default run never loads.
process.env.WARMSTART_TEST_SIMD128 = '1';
await import('./kernels-wasm.test.js');
