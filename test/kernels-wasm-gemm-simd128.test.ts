// Every test of kernels-wasm-gemm.test.ts (tile remainders, splits, blockings, two threads) again on the plain
// SIMD128 build: what engines without relaxed SIMD run (Safari, older Chromium and Node).
process.env.WARMSTART_TEST_SIMD128 = '1';
await import('./kernels-wasm-gemm.test.js');
