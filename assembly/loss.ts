// Losses and accuracy counts. These touch m×n floats (a few hundred per step), so they are scalar float64
// code that follows the reference's expressions one for one: the loss sums and gradients then match the
// oracle to the last bit or so, which keeps training curves of both backends comparable.

// Loss codes, shared with src/kernels/wasm/abi.ts.
export const SPARSE_CATEGORICAL: i32 = 0;
export const CATEGORICAL: i32 = 1;
export const BINARY: i32 = 2;
export const MEAN_SQUARED: i32 = 3;

// Accuracy codes, shared with src/kernels/wasm/abi.ts.
export const SPARSE_CATEGORICAL_ACCURACY: i32 = 0;
export const CATEGORICAL_ACCURACY: i32 = 1;
export const BINARY_ACCURACY: i32 = 2;

// @ts-ignore: decorator
@inline const EPSILON: f64 = 1e-7;

// @ts-ignore: decorator
@inline
function clip(p: f64): f64 {
  return p < EPSILON ? EPSILON : p > 1 - EPSILON ? 1 - EPSILON : p;
}

// @ts-ignore: decorator
@inline
function clipped(p: f64): bool {
  return p < EPSILON || p > 1 - EPSILON;
}

// @ts-ignore: decorator
@inline
function at(p: usize, index: i32): f64 {
  return <f64>load<f32>(p + ((<usize>index) << 2));
}

/**
 * The loss SUM over m rows; when `dPred` ≠ 0 it receives the gradient of the MEAN (w.r.t. the logits of a
 * fused softmax/sigmoid when `fused` ≠ 0). See `Kernels.loss` for the contract.
 */
export function loss(kind: i32, yPred: usize, yTrue: usize, dPred: usize, m: i32, n: i32, fused: i32): f64 {
  let total: f64 = 0;
  const mf = <f64>m;
  if (kind == SPARSE_CATEGORICAL || kind == CATEGORICAL) {
    const sparse = kind == SPARSE_CATEGORICAL;
    for (let i = 0; i < m; i++) {
      const row = i * n;
      const label = sparse ? at(yTrue, i) : 0;
      // Keras renormalises the row (q = p / Σp) and clips q before the logarithm.
      let sum: f64 = 0;
      for (let j = 0; j < n; j++) sum += at(yPred, row + j);
      let weighted: f64 = 0;
      for (let j = 0; j < n; j++) {
        const q = at(yPred, row + j) / sum;
        const t: f64 = sparse ? (<f64>j == label ? 1 : 0) : at(yTrue, row + j);
        if (t != 0) total -= t * Math.log(clip(q));
        if (!clipped(q)) weighted -= t;
      }
      if (dPred == 0) continue;
      for (let j = 0; j < n; j++) {
        const p = at(yPred, row + j);
        const t: f64 = sparse ? (<f64>j == label ? 1 : 0) : at(yTrue, row + j);
        let g: f64;
        if (fused != 0) {
          g = (p - t) / mf;
        } else {
          const q = p / sum;
          const direct: f64 = clipped(q) ? 0 : -t / q;
          g = (direct - weighted) / sum / mf;
        }
        store<f32>(dPred + ((<usize>(row + j)) << 2), <f32>g);
      }
    }
    return total;
  }
  const mn = mf * <f64>n;
  if (kind == BINARY) {
    for (let i = 0; i < m; i++) {
      const row = i * n;
      let sample: f64 = 0;
      for (let j = 0; j < n; j++) {
        const raw = at(yPred, row + j);
        const p = clip(raw);
        const t = at(yTrue, row + j);
        sample -= t * Math.log(p) + (1 - t) * Math.log(1 - p);
        if (dPred != 0) {
          const g = fused != 0 ? (raw - t) / mn : ((p - t) / (p * (1 - p)) / mn) * (clipped(raw) ? 0 : 1);
          store<f32>(dPred + ((<usize>(row + j)) << 2), <f32>g);
        }
      }
      total += sample / <f64>n;
    }
    return total;
  }
  // Mean squared error.
  for (let i = 0; i < m; i++) {
    const row = i * n;
    let sample: f64 = 0;
    for (let j = 0; j < n; j++) {
      const d = at(yPred, row + j) - at(yTrue, row + j);
      sample += d * d;
      if (dPred != 0) store<f32>(dPred + ((<usize>(row + j)) << 2), <f32>((2 * d) / mn));
    }
    total += sample / <f64>n;
  }
  return total;
}

// @ts-ignore: decorator
@inline
function argmax(p: usize, row: i32, n: i32): i32 {
  let best = 0;
  let bestValue = load<f32>(p + ((<usize>row) << 2));
  for (let j = 1; j < n; j++) {
    const v = load<f32>(p + ((<usize>(row + j)) << 2));
    if (v > bestValue) {
      best = j;
      bestValue = v;
    }
  }
  return best;
}

/** How many of m predictions are right (binary: a fraction per element, summed in the reference's order). */
export function count_correct(kind: i32, yPred: usize, yTrue: usize, m: i32, n: i32): f64 {
  let correct: f64 = 0;
  for (let i = 0; i < m; i++) {
    const row = i * n;
    if (kind == BINARY_ACCURACY) {
      for (let j = 0; j < n; j++) {
        const predicted: f64 = at(yPred, row + j) > 0.5 ? 1 : 0;
        if (predicted == at(yTrue, row + j)) correct += 1 / <f64>n;
      }
      continue;
    }
    const predicted = argmax(yPred, row, n);
    const actual: f64 = kind == SPARSE_CATEGORICAL_ACCURACY ? at(yTrue, i) : <f64>argmax(yTrue, row, n);
    if (<f64>predicted == actual) correct++;
  }
  return correct;
}
