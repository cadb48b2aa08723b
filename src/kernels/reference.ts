import {
  type AccuracyName,
  type ActivationName,
  type AucCurve,
  type AucSummation,
  type SampleMetricName,
  type TargetRule,
  EPSILON,
  type Kernels,
  type LossName,
  SELU_ALPHA,
  SELU_SCALE,
  type SgdStep,
  type Conv2DGeometry,
  type ReluOptions,
  type AdadeltaStep,
  type AdagradStep,
  type AdamaxStep,
  type AdamStep,
  type FtrlStep,
  type LionStep,
  type NadamStep,
  type RmspropStep,
} from './kernels.js';

/**
 * Plain-TypeScript kernels: obviously correct loops, the oracle the fast backends are tested against.
 * Every method accepts any `Float32Array`, so other backends extend this class and override what is hot.
 */
export class ReferenceKernels implements Kernels {
  readonly name: string = 'reference';
  /** Per-bucket counts of {@link confusionCountsEvenThresholds}, reused between calls. */
  private bucketScratch = new Float64Array(0);

  alloc(length: number): Float32Array {
    return new Float32Array(length);
  }

  free(_buffer: Float32Array): void {
    // Garbage-collected storage: nothing to return.
  }

  denseForward(
    x: Float32Array,
    w: Float32Array,
    bias: Float32Array | null,
    z: Float32Array,
    y: Float32Array,
    m: number,
    k: number,
    n: number,
    activation: ActivationName,
  ): void {
    for (let i = 0; i < m; i++) {
      const row = i * n;
      for (let j = 0; j < n; j++) z[row + j] = bias === null ? 0 : bias[j];
      for (let p = 0; p < k; p++) {
        const a = x[i * k + p];
        if (a === 0) continue;
        const wRow = p * n;
        for (let j = 0; j < n; j++) z[row + j] += a * w[wRow + j];
      }
    }
    this.activationForward(activation, z, y, m, n);
  }

  /** `y = f(z)` over an m×n block (softmax per row). `y` may alias `z`. */
  activationForward(
    activation: ActivationName,
    z: Float32Array,
    y: Float32Array,
    m: number,
    n: number,
  ): void {
    const length = m * n;
    switch (activation) {
      case 'linear':
        if (y !== z) y.set(z.subarray(0, length));
        return;
      case 'relu':
        for (let i = 0; i < length; i++) y[i] = z[i] > 0 ? z[i] : 0;
        return;
      case 'sigmoid':
        for (let i = 0; i < length; i++) y[i] = sigmoid(z[i]);
        return;
      case 'tanh':
        for (let i = 0; i < length; i++) y[i] = Math.tanh(z[i]);
        return;
      case 'selu':
        for (let i = 0; i < length; i++) {
          const v = z[i];
          y[i] = v > 0 ? SELU_SCALE * v : SELU_SCALE * SELU_ALPHA * Math.expm1(v);
        }
        return;
      case 'elu':
        for (let i = 0; i < length; i++) {
          const v = z[i];
          y[i] = v > 0 ? v : Math.expm1(v);
        }
        return;
      case 'softmax':
        for (let i = 0; i < m; i++) {
          const row = i * n;
          let max = -Infinity;
          for (let j = 0; j < n; j++) max = Math.max(max, z[row + j]);
          let sum = 0;
          for (let j = 0; j < n; j++) {
            const e = Math.exp(z[row + j] - max);
            y[row + j] = e;
            sum += e;
          }
          for (let j = 0; j < n; j++) y[row + j] /= sum;
        }
        return;
    }
  }

  activationBackward(
    activation: ActivationName,
    z: Float32Array,
    y: Float32Array,
    dy: Float32Array,
    dz: Float32Array,
    m: number,
    n: number,
  ): void {
    const length = m * n;
    switch (activation) {
      case 'linear':
        if (dz !== dy) dz.set(dy.subarray(0, length));
        return;
      case 'relu':
        for (let i = 0; i < length; i++) dz[i] = z[i] > 0 ? dy[i] : 0;
        return;
      case 'sigmoid':
        for (let i = 0; i < length; i++) dz[i] = dy[i] * y[i] * (1 - y[i]);
        return;
      case 'tanh':
        for (let i = 0; i < length; i++) dz[i] = dy[i] * (1 - y[i] * y[i]);
        return;
      case 'selu':
        // f'(z) = scale for z > 0, else scale·α·eᶻ = y + scale·α.
        for (let i = 0; i < length; i++)
          dz[i] = z[i] > 0 ? dy[i] * SELU_SCALE : dy[i] * (y[i] + SELU_SCALE * SELU_ALPHA);
        return;
      case 'elu':
        // f'(z) = 1 for z > 0, else eᶻ = y + 1.
        for (let i = 0; i < length; i++) dz[i] = z[i] > 0 ? dy[i] : dy[i] * (y[i] + 1);
        return;
      case 'softmax':
        for (let i = 0; i < m; i++) {
          const row = i * n;
          let dot = 0;
          for (let j = 0; j < n; j++) dot += dy[row + j] * y[row + j];
          for (let j = 0; j < n; j++) dz[row + j] = y[row + j] * (dy[row + j] - dot);
        }
        return;
    }
  }

  denseBackwardWeights(
    x: Float32Array,
    dz: Float32Array,
    dw: Float32Array,
    db: Float32Array | null,
    m: number,
    k: number,
    n: number,
  ): void {
    dw.fill(0, 0, k * n);
    for (let i = 0; i < m; i++) {
      const dzRow = i * n;
      for (let p = 0; p < k; p++) {
        const a = x[i * k + p];
        if (a === 0) continue;
        const dwRow = p * n;
        for (let j = 0; j < n; j++) dw[dwRow + j] += a * dz[dzRow + j];
      }
    }
    if (db !== null) {
      db.fill(0, 0, n);
      for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) db[j] += dz[i * n + j];
    }
  }

  denseBackwardInput(
    dz: Float32Array,
    w: Float32Array,
    dx: Float32Array,
    m: number,
    k: number,
    n: number,
  ): void {
    for (let i = 0; i < m; i++) {
      for (let p = 0; p < k; p++) {
        let sum = 0;
        for (let j = 0; j < n; j++) sum += dz[i * n + j] * w[p * n + j];
        dx[i * k + p] = sum;
      }
    }
  }

  loss(
    loss: LossName,
    yPred: Float32Array,
    yTrue: Float32Array,
    dPred: Float32Array | null,
    m: number,
    n: number,
    fusedLogits: boolean,
  ): number {
    let total = 0;
    switch (loss) {
      case 'sparse_categorical_crossentropy':
      case 'categorical_crossentropy':
        // Keras first renormalises each row (q = p / Σp), clips q to [ε, 1 − ε], then takes −Σ t·log q.
        for (let i = 0; i < m; i++) {
          const row = i * n;
          const sparse = loss === 'sparse_categorical_crossentropy';
          const target = (j: number): number => (sparse ? (j === yTrue[i] ? 1 : 0) : yTrue[row + j]);
          let sum = 0;
          for (let j = 0; j < n; j++) sum += yPred[row + j];
          let weighted = 0;
          for (let j = 0; j < n; j++) {
            const q = yPred[row + j] / sum;
            if (target(j) !== 0) total -= target(j) * Math.log(clipProbability(q));
            if (!isClipped(q)) weighted -= target(j);
          }
          if (dPred === null) continue;
          for (let j = 0; j < n; j++) {
            const q = yPred[row + j] / sum;
            if (fusedLogits) {
              dPred[row + j] = (yPred[row + j] - target(j)) / m;
            } else {
              // ∂/∂p_j of −Σ_i t_i log q_i, through the clip and the renormalisation.
              const direct = isClipped(q) ? 0 : -target(j) / q;
              dPred[row + j] = (direct - weighted) / sum / m;
            }
          }
        }
        return total;
      case 'binary_crossentropy':
        // Keras averages over the last axis, then over the batch.
        for (let i = 0; i < m; i++) {
          const row = i * n;
          let sample = 0;
          for (let j = 0; j < n; j++) {
            const p = clipProbability(yPred[row + j]);
            const target = yTrue[row + j];
            sample -= target * Math.log(p) + (1 - target) * Math.log(1 - p);
            if (dPred !== null) {
              dPred[row + j] = fusedLogits
                ? (yPred[row + j] - target) / (m * n)
                : ((p - target) / (p * (1 - p)) / (m * n)) * (isClipped(yPred[row + j]) ? 0 : 1);
            }
          }
          total += sample / n;
        }
        return total;
      case 'mean_squared_error':
        for (let i = 0; i < m; i++) {
          const row = i * n;
          let sample = 0;
          for (let j = 0; j < n; j++) {
            const difference = yPred[row + j] - yTrue[row + j];
            sample += difference * difference;
            if (dPred !== null) dPred[row + j] = (2 * difference) / (m * n);
          }
          total += sample / n;
        }
        return total;
    }
  }

  countCorrect(
    accuracy: AccuracyName,
    yPred: Float32Array,
    yTrue: Float32Array,
    m: number,
    n: number,
  ): number {
    let correct = 0;
    for (let i = 0; i < m; i++) {
      const row = i * n;
      if (accuracy === 'binary_accuracy') {
        for (let j = 0; j < n; j++) if ((yPred[row + j] > 0.5 ? 1 : 0) === yTrue[row + j]) correct += 1 / n;
        continue;
      }
      const predicted = argmax(yPred, row, n);
      const actual = accuracy === 'sparse_categorical_accuracy' ? yTrue[i] : argmax(yTrue, row, n);
      if (predicted === actual) correct++;
    }
    return correct;
  }

  metricSum(
    metric: SampleMetricName,
    yPred: Float32Array,
    yTrue: Float32Array,
    m: number,
    n: number,
    trueWidth: number,
    k: number,
  ): number {
    let total = 0;
    for (let i = 0; i < m; i++) {
      const row = i * n;
      switch (metric) {
        case 'mean_absolute_error':
        case 'mean_squared_error': {
          let sample = 0;
          for (let j = 0; j < n; j++) {
            const target = trueWidth === 1 ? yTrue[i] : yTrue[row + j];
            const difference = target - yPred[row + j];
            sample += metric === 'mean_absolute_error' ? Math.abs(difference) : difference * difference;
          }
          total += sample / n;
          break;
        }
        case 'top_k_categorical_accuracy':
        case 'sparse_top_k_categorical_accuracy': {
          const label = metric === 'sparse_top_k_categorical_accuracy' ? yTrue[i] : argmax(yTrue, row, n);
          if (!(label >= 0 && label < n)) break;
          // In the top k when fewer than k predictions are strictly larger (ties with the k-th count as in).
          const value = yPred[row + label];
          let larger = 0;
          for (let j = 0; j < n; j++) if (yPred[row + j] > value) larger++;
          if (larger < k) total++;
          break;
        }
      }
    }
    return total;
  }

  confusionCounts(
    yPred: Float32Array,
    yTrue: Float32Array,
    length: number,
    thresholds: Float32Array,
    counts: Float64Array,
  ): void {
    const t = thresholds.length;
    for (let j = 0; j < t; j++) {
      const threshold = thresholds[j];
      let truePositives = 0;
      let falsePositives = 0;
      let trueNegatives = 0;
      let falseNegatives = 0;
      for (let i = 0; i < length; i++) {
        const positive = yPred[i] > threshold;
        if (yTrue[i] !== 0) {
          if (positive) truePositives++;
          else falseNegatives++;
        } else if (positive) falsePositives++;
        else trueNegatives++;
      }
      counts[j] += truePositives;
      counts[t + j] += falsePositives;
      counts[2 * t + j] += trueNegatives;
      counts[3 * t + j] += falseNegatives;
    }
  }

  confusionCountsEvenThresholds(
    yPred: Float32Array,
    yTrue: Float32Array,
    length: number,
    numThresholds: number,
    counts: Float64Array,
  ): void {
    const t = numThresholds;
    if (this.bucketScratch.length < 2 * t) this.bucketScratch = new Float64Array(2 * t);
    const positives = this.bucketScratch.subarray(0, t).fill(0);
    const negatives = this.bucketScratch.subarray(t, 2 * t).fill(0);
    let totalPositives = 0;
    let totalNegatives = 0;
    for (let i = 0; i < length; i++) {
      const p = Math.min(Math.max(yPred[i], 0), 1);
      const bucket = Math.max(Math.ceil(Math.fround(p * (t - 1))) - 1, 0);
      if (yTrue[i] !== 0) {
        positives[bucket]++;
        totalPositives++;
      } else {
        negatives[bucket]++;
        totalNegatives++;
      }
    }
    // A prediction in bucket b is above thresholds 0..b: counts are suffix sums over buckets.
    let truePositives = 0;
    let falsePositives = 0;
    for (let j = t - 1; j >= 0; j--) {
      truePositives += positives[j];
      falsePositives += negatives[j];
      counts[j] += truePositives;
      counts[t + j] += falsePositives;
      counts[2 * t + j] += totalNegatives - falsePositives;
      counts[3 * t + j] += totalPositives - truePositives;
    }
  }

  areaUnderCurve(
    counts: Float64Array,
    numThresholds: number,
    curve: AucCurve,
    summation: AucSummation,
  ): number {
    const t = numThresholds;
    const tp = (j: number): number => counts[j];
    const fp = (j: number): number => counts[t + j];
    const tn = (j: number): number => counts[2 * t + j];
    const fn = (j: number): number => counts[3 * t + j];
    const divideNoNan = (a: number, b: number): number => (b === 0 ? 0 : a / b);
    let area = 0;
    if (curve === 'PR' && summation === 'interpolation') {
      for (let j = 0; j < t - 1; j++) {
        const dtp = tp(j) - tp(j + 1);
        const p = tp(j) + fp(j);
        const pNext = tp(j + 1) + fp(j + 1);
        const slope = divideNoNan(dtp, Math.max(p - pNext, 0));
        const intercept = tp(j + 1) - slope * pNext;
        const ratio = p > 0 && pNext > 0 ? divideNoNan(p, Math.max(pNext, 0)) : 1;
        area += divideNoNan(slope * (dtp + intercept * Math.log(ratio)), Math.max(tp(j + 1) + fn(j + 1), 0));
      }
      return area;
    }
    const recall = (j: number): number => divideNoNan(tp(j), tp(j) + fn(j));
    const x = (j: number): number => (curve === 'ROC' ? divideNoNan(fp(j), fp(j) + tn(j)) : recall(j));
    const y = (j: number): number => (curve === 'ROC' ? recall(j) : divideNoNan(tp(j), tp(j) + fp(j)));
    for (let j = 0; j < t - 1; j++) {
      const height =
        summation === 'interpolation'
          ? (y(j) + y(j + 1)) / 2
          : summation === 'minoring'
            ? Math.min(y(j), y(j + 1))
            : Math.max(y(j), y(j + 1));
      area += (x(j) - x(j + 1)) * height;
    }
    return area;
  }

  argmaxRows(x: Float32Array, m: number, n: number, out: Int32Array): void {
    for (let i = 0; i < m; i++) out[i] = n === 0 ? -1 : argmax(x, i * n, n);
  }

  divideByScalar(x: Float32Array, divisor: number): void {
    for (let i = 0; i < x.length; i++) x[i] = x[i] / divisor;
  }

  firstInvalidTarget(rule: TargetRule, values: Float32Array, m: number, n: number, classes: number): number {
    for (let i = 0; i < m; i++) {
      const row = i * n;
      let sum = 0;
      for (let j = 0; j < n; j++) {
        const value = values[row + j];
        if (!Number.isFinite(value)) return row + j;
        if (rule === 'class_index' && !(Number.isInteger(value) && value >= 0 && value < classes))
          return row + j;
        if (rule === 'probability' && (value < 0 || value > 1)) return row + j;
        if (rule === 'distribution') {
          if (value < 0) return row + j;
          sum += value;
        }
      }
      if (rule === 'distribution' && Math.abs(sum - 1) > DISTRIBUTION_TOLERANCE) return row;
    }
    return -1;
  }

  gatherRows(
    source: Float32Array,
    indices: Int32Array,
    start: number,
    count: number,
    rowLength: number,
    target: Float32Array,
  ): void {
    if (rowLength < GATHER_SET_MIN) {
      // Short rows (labels): a subarray per row costs more than the copy.
      for (let r = 0, to = 0; r < count; r++) {
        const from = indices[start + r] * rowLength;
        for (let j = 0; j < rowLength; j++) target[to++] = source[from + j];
      }
      return;
    }
    for (let r = 0; r < count;) {
      // Rows that follow each other in the source (evaluation's batches: all of them) are one copy.
      const first = indices[start + r];
      let run = 1;
      while (r + run < count && indices[start + r + run] === first + run) run++;
      const from = first * rowLength;
      target.set(source.subarray(from, from + run * rowLength), r * rowLength);
      r += run;
    }
  }

  firstNonFinite(x: Float32Array): number {
    // x·0 is 0 for every finite x and NaN for ±Infinity and NaN: sum those products a block at a time (four
    // independent sums, no branch per element) and search a block element by element only when its sum is
    // not 0. Fit checks its whole input this way on every call: 1.6× faster than Number.isFinite per element.
    const n = x.length;
    for (let blockStart = 0; blockStart < n; blockStart += NON_FINITE_BLOCK) {
      const end = Math.min(n, blockStart + NON_FINITE_BLOCK);
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      let i = blockStart;
      for (; i + 3 < end; i += 4) {
        s0 += x[i] * 0;
        s1 += x[i + 1] * 0;
        s2 += x[i + 2] * 0;
        s3 += x[i + 3] * 0;
      }
      for (; i < end; i++) s0 += x[i] * 0;
      if (s0 + s1 + s2 + s3 !== 0) {
        for (let j = blockStart; j < end; j++) if (!Number.isFinite(x[j])) return j;
      }
    }
    return -1;
  }

  sumOfSquares(x: Float32Array): number {
    let sum = 0;
    for (let i = 0; i < x.length; i++) sum += x[i] * x[i];
    return sum;
  }

  scale(x: Float32Array, factor: number): void {
    for (let i = 0; i < x.length; i++) x[i] *= factor;
  }

  sgdUpdate(param: Float32Array, grad: Float32Array, velocity: Float32Array | null, step: SgdStep): void {
    // Keras's PyTorch SGD (torch_sgd.py): `v·μ` is a float32 product, and each `x + α·y` of its
    // `_foreach_add_(x, y, alpha=α)` is a fused multiply-add on CPU (`vec::fmadd`), rounded once.
    const negativeRate = -f(step.learningRate);
    const momentum = f(step.momentum);
    const fma = fusedMultiplyAdd;
    if (velocity === null || momentum === 0) {
      for (let i = 0; i < param.length; i++) param[i] = fma(negativeRate, grad[i], param[i]);
      return;
    }
    if (step.nesterov) {
      for (let i = 0; i < param.length; i++) {
        const v = fma(negativeRate, grad[i], f(velocity[i] * momentum));
        velocity[i] = v;
        param[i] = fma(momentum, v, fma(negativeRate, grad[i], param[i]));
      }
      return;
    }
    for (let i = 0; i < param.length; i++) {
      const v = fma(negativeRate, grad[i], f(velocity[i] * momentum));
      velocity[i] = v;
      param[i] += v;
    }
  }

  // ---- Optimizer kernels. `f` (Math.fround) rounds after every operation PyTorch performs in float32, in
  // PyTorch's order, so these loops reproduce Keras's float32 trajectories to the last bit or two.

  fill(x: Float32Array, value: number): void {
    x.fill(value);
  }

  clipByValue(x: Float32Array, min: number, max: number): void {
    for (let i = 0; i < x.length; i++) {
      const v = x[i];
      x[i] = v < min ? min : v > max ? max : v;
    }
  }

  accumulateGradient(accumulator: Float32Array, gradient: Float32Array, divisor: number): void {
    if (divisor === 1) {
      for (let i = 0; i < accumulator.length; i++) accumulator[i] += gradient[i];
      return;
    }
    for (let i = 0; i < accumulator.length; i++) accumulator[i] = f(accumulator[i] + gradient[i]) / divisor;
  }

  emaUpdate(average: Float32Array, value: Float32Array, momentum: number): void {
    const mu = f(momentum);
    const rest = f(1 - mu);
    for (let i = 0; i < average.length; i++) average[i] = f(mu * average[i]) + f(rest * value[i]);
  }

  rmspropUpdate(
    param: Float32Array,
    grad: Float32Array,
    velocity: Float32Array,
    averageGradient: Float32Array | null,
    momentum: Float32Array | null,
    step: RmspropStep,
  ): void {
    const { learningRate, rho, oneMinusRho, epsilon } = step;
    const mu = step.momentum;
    for (let i = 0; i < param.length; i++) {
      const g = grad[i];
      const v = f(f(velocity[i] * rho) + f(oneMinusRho * f(g * g)));
      velocity[i] = v;
      let denominator = f(v + epsilon);
      if (averageGradient !== null) {
        const a = f(f(averageGradient[i] * rho) + f(oneMinusRho * g));
        averageGradient[i] = a;
        denominator = f(denominator - f(a * a));
      }
      const increment = f(f(g * learningRate) / f(Math.sqrt(denominator)));
      if (momentum !== null) {
        const b = f(f(momentum[i] * mu) + increment);
        momentum[i] = b;
        param[i] -= b;
      } else {
        param[i] -= increment;
      }
    }
  }

  adamUpdate(
    param: Float32Array,
    grad: Float32Array,
    m: Float32Array,
    v: Float32Array,
    vhat: Float32Array | null,
    step: AdamStep,
  ): void {
    const { alpha, beta1, oneMinusBeta1, beta2, oneMinusBeta2, epsilon } = step;
    for (let i = 0; i < param.length; i++) {
      const g = grad[i];
      const mi = f(f(m[i] * beta1) + f(oneMinusBeta1 * g));
      m[i] = mi;
      let vi = f(f(v[i] * beta2) + f(oneMinusBeta2 * f(g * g)));
      v[i] = vi;
      if (vhat !== null) {
        vi = Math.max(vhat[i], vi);
        vhat[i] = vi;
      }
      param[i] -= f(f(mi * alpha) / f(f(Math.sqrt(vi)) + epsilon));
    }
  }

  adadeltaUpdate(
    param: Float32Array,
    grad: Float32Array,
    accumulatedGrad: Float32Array,
    accumulatedDelta: Float32Array,
    step: AdadeltaStep,
  ): void {
    const { learningRate, rho, oneMinusRho, epsilon } = step;
    for (let i = 0; i < param.length; i++) {
      const g = grad[i];
      const a = f(f(accumulatedGrad[i] * rho) + f(oneMinusRho * f(g * g)));
      accumulatedGrad[i] = a;
      const rmsDelta = f(Math.sqrt(f(accumulatedDelta[i] + epsilon)));
      const delta = -f(f(rmsDelta * g) / f(Math.sqrt(f(a + epsilon))));
      accumulatedDelta[i] = f(f(accumulatedDelta[i] * rho) + f(oneMinusRho * f(delta * delta)));
      param[i] += f(learningRate * delta);
    }
  }

  adagradUpdate(param: Float32Array, grad: Float32Array, accumulator: Float32Array, step: AdagradStep): void {
    const { learningRate, epsilon } = step;
    for (let i = 0; i < param.length; i++) {
      const g = grad[i];
      const a = f(accumulator[i] + f(g * g));
      accumulator[i] = a;
      param[i] -= f(f(g * learningRate) / f(Math.sqrt(f(a + epsilon))));
    }
  }

  adamaxUpdate(
    param: Float32Array,
    grad: Float32Array,
    m: Float32Array,
    u: Float32Array,
    step: AdamaxStep,
  ): void {
    const { learningRate, beta1, oneMinusBeta1, beta2, epsilon, biasCorrection } = step;
    for (let i = 0; i < param.length; i++) {
      const g = grad[i];
      const mi = f(f(m[i] * beta1) + f(oneMinusBeta1 * g));
      m[i] = mi;
      const ui = Math.max(f(u[i] * beta2), Math.abs(g));
      u[i] = ui;
      param[i] -= f(f(mi * learningRate) / f(f(ui + epsilon) * biasCorrection));
    }
  }

  nadamUpdate(
    param: Float32Array,
    grad: Float32Array,
    m: Float32Array,
    v: Float32Array,
    step: NadamStep,
  ): void {
    const { learningRate, beta1, oneMinusBeta1, beta2, oneMinusBeta2, epsilon } = step;
    const { nextMomentum, nextProductComplement, oneMinusMomentum, productComplement, beta2Correction } =
      step;
    for (let i = 0; i < param.length; i++) {
      const g = grad[i];
      const mi = f(f(m[i] * beta1) + f(oneMinusBeta1 * g));
      m[i] = mi;
      const vi = f(f(v[i] * beta2) + f(oneMinusBeta2 * f(g * g)));
      v[i] = vi;
      const mHat = f(
        f(f(mi * nextMomentum) / nextProductComplement) + f(f(g * oneMinusMomentum) / productComplement),
      );
      const vHat = f(vi / beta2Correction);
      param[i] -= f(f(mHat * learningRate) / f(f(Math.sqrt(vHat)) + epsilon));
    }
  }

  lionUpdate(param: Float32Array, grad: Float32Array, m: Float32Array, step: LionStep): void {
    const { learningRate, beta1, oneMinusBeta1, beta2, oneMinusBeta2 } = step;
    for (let i = 0; i < param.length; i++) {
      const g = grad[i];
      const c = f(f(m[i] * beta1) + f(oneMinusBeta1 * g));
      param[i] -= f(Math.sign(c) * learningRate);
      m[i] = f(f(m[i] * beta2) + f(oneMinusBeta2 * g));
    }
  }

  ftrlUpdate(
    param: Float32Array,
    grad: Float32Array,
    accumulator: Float32Array,
    linear: Float32Array,
    step: FtrlStep,
  ): void {
    const { learningRate, power, l1, twiceL2, twiceL2Shrinkage } = step;
    for (let i = 0; i < param.length; i++) {
      const g = grad[i];
      const p = param[i];
      const n = accumulator[i];
      const gradToUse = f(g + f(twiceL2Shrinkage * p));
      const nNew = f(n + f(g * g));
      const nNewPow = f(Math.pow(nNew, power));
      const sigma = f(f(nNewPow - f(Math.pow(n, power))) / learningRate);
      const z = f(linear[i] + f(gradToUse - f(sigma * p)));
      linear[i] = z;
      const quadratic = f(f(nNewPow / learningRate) + twiceL2);
      const zClipped = z < -l1 ? -l1 : z > l1 ? l1 : z;
      param[i] = f(zClipped - z) / quadratic;
      accumulator[i] = nNew;
    }
  }

  // ---- layers: dropout, batch normalization

  dropoutMask(mask: Float32Array, n: number, rate: number, keptValue: number, uniform: () => number): void {
    for (let i = 0; i < n; i++) mask[i] = uniform() >= rate ? keptValue : 0;
  }

  multiplyElementwise(a: Float32Array, b: Float32Array, out: Float32Array, n: number): void {
    for (let i = 0; i < n; i++) out[i] = a[i] * b[i];
  }

  addElementwise(a: Float32Array, b: Float32Array, out: Float32Array, n: number): void {
    for (let i = 0; i < n; i++) out[i] = a[i] + b[i];
  }

  alphaDropoutForward(
    x: Float32Array,
    mask: Float32Array,
    y: Float32Array,
    n: number,
    shift: number,
    dropped: number,
  ): void {
    for (let i = 0; i < n; i++) y[i] = mask[i] !== 0 ? mask[i] * x[i] + shift : dropped;
  }

  copyColumns(
    source: Float32Array,
    sourceWidth: number,
    sourceOffset: number,
    target: Float32Array,
    targetWidth: number,
    targetOffset: number,
    rows: number,
    width: number,
  ): void {
    for (let r = 0; r < rows; r++) {
      const from = r * sourceWidth + sourceOffset;
      target.set(source.subarray(from, from + width), r * targetWidth + targetOffset);
    }
  }

  columnMoments(x: Float32Array, m: number, c: number, mean: Float32Array, variance: Float32Array): void {
    // Two passes in float64: the mean first, then squared deviations (no cancellation as in E[x²] − E[x]²).
    for (let j = 0; j < c; j++) {
      let sum = 0;
      for (let i = 0; i < m; i++) sum += x[i * c + j];
      const mu = sum / m;
      let squares = 0;
      for (let i = 0; i < m; i++) {
        const d = x[i * c + j] - mu;
        squares += d * d;
      }
      mean[j] = mu;
      variance[j] = squares / m;
    }
  }

  batchNormForward(
    x: Float32Array,
    mean: Float32Array,
    variance: Float32Array,
    gamma: Float32Array | null,
    beta: Float32Array | null,
    epsilon: number,
    m: number,
    c: number,
    xHat: Float32Array | null,
    y: Float32Array,
  ): void {
    for (let j = 0; j < c; j++) {
      const inverse = 1 / Math.sqrt(variance[j] + epsilon);
      const g = gamma === null ? 1 : gamma[j];
      const b = beta === null ? 0 : beta[j];
      for (let i = 0; i < m; i++) {
        const k = i * c + j;
        const normalized = (x[k] - mean[j]) * inverse;
        if (xHat !== null) xHat[k] = normalized;
        y[k] = g * normalized + b;
      }
    }
  }

  batchNormBackward(
    dy: Float32Array,
    xHat: Float32Array,
    variance: Float32Array,
    gamma: Float32Array | null,
    epsilon: number,
    m: number,
    c: number,
    batchStatistics: boolean,
    dx: Float32Array | null,
    dGamma: Float32Array | null,
    dBeta: Float32Array | null,
  ): void {
    for (let j = 0; j < c; j++) {
      let sumDy = 0;
      let sumDyXHat = 0;
      for (let i = 0; i < m; i++) {
        const k = i * c + j;
        sumDy += dy[k];
        sumDyXHat += dy[k] * xHat[k];
      }
      if (dBeta !== null) dBeta[j] = sumDy;
      if (dGamma !== null) dGamma[j] = sumDyXHat;
      if (dx === null) continue;
      const scale = (gamma === null ? 1 : gamma[j]) / Math.sqrt(variance[j] + epsilon);
      for (let i = 0; i < m; i++) {
        const k = i * c + j;
        dx[k] = batchStatistics ? (scale / m) * (m * dy[k] - sumDy - xHat[k] * sumDyXHat) : scale * dy[k];
      }
    }
  }

  // ---- convolutional networks. Plain loops over output pixels, window taps and channels, in the order
  // every faster kernel must reproduce per element: the bias first, then taps (ky, kx) in row-major order,
  // then channels ascending. Taps on padding are left out (they would add 0·w).

  conv2dForward(
    x: Float32Array,
    kernel: Float32Array,
    bias: Float32Array | null,
    y: Float32Array,
    g: Conv2DGeometry,
    relu = false,
  ): void {
    const { inChannels: c, outChannels: f, groups } = g;
    const cg = c / groups;
    const fg = f / groups;
    forEachPixel(g, (input, output, tap) => {
      if (input < 0) {
        for (let o = 0; o < f; o++) y[output + o] = bias === null ? 0 : bias[o];
        return;
      }
      for (let group = 0; group < groups; group++) {
        for (let ci = 0; ci < cg; ci++) {
          const a = x[input + group * cg + ci];
          if (a === 0) continue;
          const row = (tap * cg + ci) * f;
          for (let o = group * fg; o < (group + 1) * fg; o++) y[output + o] += a * kernel[row + o];
        }
      }
    });
    if (relu) this.activationForward('relu', y, y, g.batch * g.outHeight * g.outWidth, f);
  }

  conv2dBackwardInput(dy: Float32Array, kernel: Float32Array, dx: Float32Array, g: Conv2DGeometry): void {
    const { inChannels: c, outChannels: f, groups } = g;
    const cg = c / groups;
    const fg = f / groups;
    dx.fill(0, 0, g.batch * g.inHeight * g.inWidth * c);
    forEachPixel(g, (input, output, tap) => {
      if (input < 0) return;
      for (let group = 0; group < groups; group++) {
        for (let ci = 0; ci < cg; ci++) {
          const row = (tap * cg + ci) * f;
          let sum = 0;
          for (let o = group * fg; o < (group + 1) * fg; o++) sum += dy[output + o] * kernel[row + o];
          dx[input + group * cg + ci] += sum;
        }
      }
    });
  }

  conv2dBackwardWeights(
    x: Float32Array,
    dy: Float32Array,
    dKernel: Float32Array,
    dBias: Float32Array | null,
    g: Conv2DGeometry,
  ): void {
    const { inChannels: c, outChannels: f, groups } = g;
    const cg = c / groups;
    const fg = f / groups;
    dKernel.fill(0, 0, g.kernelHeight * g.kernelWidth * cg * f);
    forEachPixel(g, (input, output, tap) => {
      if (input < 0) return;
      for (let group = 0; group < groups; group++) {
        for (let ci = 0; ci < cg; ci++) {
          const a = x[input + group * cg + ci];
          if (a === 0) continue;
          const row = (tap * cg + ci) * f;
          for (let o = group * fg; o < (group + 1) * fg; o++) dKernel[row + o] += a * dy[output + o];
        }
      }
    });
    if (dBias !== null) columnSums(dy, dBias, g.batch * g.outHeight * g.outWidth, f);
  }

  conv2dBackward(
    x: Float32Array,
    dy: Float32Array,
    kernel: Float32Array,
    dKernel: Float32Array | null,
    dBias: Float32Array | null,
    dx: Float32Array | null,
    g: Conv2DGeometry,
  ): void {
    if (dKernel !== null) this.conv2dBackwardWeights(x, dy, dKernel, dBias, g);
    if (dx !== null) this.conv2dBackwardInput(dy, kernel, dx, g);
  }

  depthwiseConv2dForward(
    x: Float32Array,
    kernel: Float32Array,
    bias: Float32Array | null,
    y: Float32Array,
    g: Conv2DGeometry,
  ): void {
    const { inChannels: c, outChannels: f } = g;
    const multiplier = f / c;
    forEachPixel(g, (input, output, tap) => {
      if (input < 0) {
        for (let o = 0; o < f; o++) y[output + o] = bias === null ? 0 : bias[o];
        return;
      }
      for (let o = 0; o < f; o++)
        y[output + o] += x[input + Math.floor(o / multiplier)] * kernel[tap * f + o];
    });
  }

  depthwiseConv2dBackwardInput(
    dy: Float32Array,
    kernel: Float32Array,
    dx: Float32Array,
    g: Conv2DGeometry,
  ): void {
    const { inChannels: c, outChannels: f } = g;
    const multiplier = f / c;
    dx.fill(0, 0, g.batch * g.inHeight * g.inWidth * c);
    forEachPixel(g, (input, output, tap) => {
      if (input < 0) return;
      for (let o = 0; o < f; o++)
        dx[input + Math.floor(o / multiplier)] += dy[output + o] * kernel[tap * f + o];
    });
  }

  depthwiseConv2dBackwardWeights(
    x: Float32Array,
    dy: Float32Array,
    dKernel: Float32Array,
    dBias: Float32Array | null,
    g: Conv2DGeometry,
  ): void {
    const { inChannels: c, outChannels: f } = g;
    const multiplier = f / c;
    dKernel.fill(0, 0, g.kernelHeight * g.kernelWidth * f);
    forEachPixel(g, (input, output, tap) => {
      if (input < 0) return;
      for (let o = 0; o < f; o++)
        dKernel[tap * f + o] += x[input + Math.floor(o / multiplier)] * dy[output + o];
    });
    if (dBias !== null) columnSums(dy, dBias, g.batch * g.outHeight * g.outWidth, f);
  }

  maxPool2dForward(x: Float32Array, y: Float32Array, g: Conv2DGeometry): void {
    const c = g.inChannels;
    forEachPixel(g, (input, output) => {
      // Math.max propagates NaN, as PyTorch's and TensorFlow's max pooling do.
      if (input < 0) for (let ch = 0; ch < c; ch++) y[output + ch] = -Infinity;
      else for (let ch = 0; ch < c; ch++) y[output + ch] = Math.max(y[output + ch], x[input + ch]);
    });
  }

  maxPool2dBackward(
    x: Float32Array,
    y: Float32Array,
    dy: Float32Array,
    dx: Float32Array,
    g: Conv2DGeometry,
    positiveOnly = false,
  ): void {
    const c = g.inChannels;
    dx.fill(0, 0, g.batch * g.inHeight * g.inWidth * c);
    // `routed[ch]` marks the channels of the current window whose maximum was found already.
    const routed = new Uint8Array(c);
    forEachPixel(g, (input, output) => {
      if (input < 0) {
        routed.fill(0);
        return;
      }
      for (let ch = 0; ch < c; ch++) {
        if (routed[ch] === 0 && x[input + ch] === y[output + ch]) {
          dx[input + ch] += positiveOnly && !(y[output + ch] > 0) ? 0 : dy[output + ch];
          routed[ch] = 1;
        }
      }
    });
  }

  averagePool2dForward(x: Float32Array, y: Float32Array, g: Conv2DGeometry): void {
    const c = g.inChannels;
    forEachPixel(
      g,
      (input, output) => {
        if (input < 0) y.fill(0, output, output + c);
        else for (let ch = 0; ch < c; ch++) y[output + ch] += x[input + ch];
      },
      (output, count) => {
        for (let ch = 0; ch < c; ch++) y[output + ch] /= count;
      },
    );
  }

  averagePool2dBackward(dy: Float32Array, dx: Float32Array, g: Conv2DGeometry): void {
    const c = g.inChannels;
    dx.fill(0, 0, g.batch * g.inHeight * g.inWidth * c);
    const counts = windowCounts(g);
    forEachPixel(g, (input, output, _tap, pixel) => {
      if (input < 0) return;
      const count = counts[pixel];
      for (let ch = 0; ch < c; ch++) dx[input + ch] += dy[output + ch] / count;
    });
  }

  reluForward(x: Float32Array, y: Float32Array, n: number, options: ReluOptions): void {
    const { maxValue, negativeSlope, threshold } = options;
    for (let i = 0; i < n; i++) {
      const v = x[i];
      y[i] =
        v > threshold ? Math.min(v, maxValue) : negativeSlope === 0 ? 0 : negativeSlope * (v - threshold);
    }
  }

  reluBackward(x: Float32Array, dy: Float32Array, dx: Float32Array, n: number, options: ReluOptions): void {
    const { maxValue, negativeSlope, threshold } = options;
    for (let i = 0; i < n; i++) {
      const v = x[i];
      dx[i] = v > threshold ? (v < maxValue ? dy[i] : 0) : negativeSlope * dy[i];
    }
  }

  zeroPad2d(
    x: Float32Array,
    y: Float32Array,
    batch: number,
    height: number,
    width: number,
    channels: number,
    top: number,
    bottom: number,
    left: number,
    right: number,
  ): void {
    const rowIn = width * channels;
    const rowOut = (width + left + right) * channels;
    const heightOut = height + top + bottom;
    y.fill(0, 0, batch * heightOut * rowOut);
    for (let n = 0; n < batch; n++) {
      for (let i = 0; i < height; i++) {
        const from = (n * height + i) * rowIn;
        y.set(x.subarray(from, from + rowIn), (n * heightOut + i + top) * rowOut + left * channels);
      }
    }
  }

  crop2d(
    x: Float32Array,
    y: Float32Array,
    batch: number,
    height: number,
    width: number,
    channels: number,
    top: number,
    bottom: number,
    left: number,
    right: number,
  ): void {
    const rowIn = width * channels;
    const rowOut = (width - left - right) * channels;
    const heightOut = height - top - bottom;
    for (let n = 0; n < batch; n++) {
      for (let i = 0; i < heightOut; i++) {
        const from = (n * height + i + top) * rowIn + left * channels;
        y.set(x.subarray(from, from + rowOut), (n * heightOut + i) * rowOut);
      }
    }
  }

  channelAffine(
    x: Float32Array,
    y: Float32Array,
    m: number,
    c: number,
    scale: Float32Array,
    offset: Float32Array | null,
  ): void {
    for (let i = 0; i < m; i++) {
      const row = i * c;
      for (let j = 0; j < c; j++) y[row + j] = x[row + j] * scale[j] + (offset === null ? 0 : offset[j]);
    }
  }
}

/** How far from 1 a row of categorical targets may sum (float32 one-hot or smoothed rows are far closer). */
const DISTRIBUTION_TOLERANCE = 1e-3;
/** Rows shorter than this are gathered element by element (see `gatherRows`). */
const GATHER_SET_MIN = 16;
/** Elements per block of `firstNonFinite`'s sums. */
const NON_FINITE_BLOCK = 8192;

/** Rounds to the nearest float32: the rounding PyTorch applies after each float32 operation. */
const f = Math.fround;

/**
 * `a·b + c` for float32 a, b, c, rounded once to float32: a fused multiply-add, as PyTorch's `vec::fmadd`.
 * The product is exact in float64 (24 + 24 bits); the float64 sum s is exact up to an error e that a
 * two-sum recovers. Rounding s to float32 is then right unless s lies exactly halfway between two float32
 * values while e ≠ 0 (about once in 2²⁹ sums): the exact sum is then on e's side of the tie.
 */
export function fusedMultiplyAdd(a: number, b: number, c: number): number {
  const product = a * b;
  const sum = product + c;
  const rounded = f(sum);
  if (rounded === sum) return rounded;
  const cPart = sum - product;
  const error = product - (sum - cPart) + (c - cPart);
  if (error === 0) return rounded;
  const other = 2 * sum - rounded;
  if (f(other) !== other) return rounded;
  // sum is a tie between `rounded` and `other`; the exact value is past it on the side of `error`.
  return error > 0 === other > rounded ? other : rounded;
}

function sigmoid(v: number): number {
  return v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v));
}

function clipProbability(p: number): number {
  return p < EPSILON ? EPSILON : p > 1 - EPSILON ? 1 - EPSILON : p;
}

function isClipped(p: number): boolean {
  return p < EPSILON || p > 1 - EPSILON;
}

function argmax(values: Float32Array, offset: number, n: number): number {
  let best = 0;
  for (let j = 1; j < n; j++) if (values[offset + j] > values[offset + best]) best = j;
  return best;
}

/**
 * Walks every output pixel of a 2-D window operation in order: `visit(−1, output, −1, pixel)` once to start
 * the pixel, then `visit(input, output, tap, pixel)` for each window tap (ky·kernelWidth + kx) that falls
 * inside the input, in row-major tap order; then `finish(output, count)` with the number of such taps.
 * `input` and `output` are the element offsets of the pixels' first channels.
 */
function forEachPixel(
  g: Conv2DGeometry,
  visit: (input: number, output: number, tap: number, pixel: number) => void,
  finish?: (output: number, count: number) => void,
): void {
  let pixel = 0;
  for (let n = 0; n < g.batch; n++) {
    for (let oy = 0; oy < g.outHeight; oy++) {
      for (let ox = 0; ox < g.outWidth; ox++, pixel++) {
        const output = pixel * g.outChannels;
        visit(-1, output, -1, pixel);
        let count = 0;
        for (let ky = 0; ky < g.kernelHeight; ky++) {
          const iy = oy * g.strideHeight + ky * g.dilationHeight - g.padTop;
          if (iy < 0 || iy >= g.inHeight) continue;
          for (let kx = 0; kx < g.kernelWidth; kx++) {
            const ix = ox * g.strideWidth + kx * g.dilationWidth - g.padLeft;
            if (ix < 0 || ix >= g.inWidth) continue;
            visit(
              ((n * g.inHeight + iy) * g.inWidth + ix) * g.inChannels,
              output,
              ky * g.kernelWidth + kx,
              pixel,
            );
            count++;
          }
        }
        finish?.(output, count);
      }
    }
  }
}

/** The number of window taps inside the input, per output pixel. */
function windowCounts(g: Conv2DGeometry): Int32Array {
  const counts = new Int32Array(g.batch * g.outHeight * g.outWidth);
  forEachPixel(g, (input, _output, _tap, pixel) => {
    if (input >= 0) counts[pixel]++;
  });
  return counts;
}

/** `sums[j] = Σ_i x[i·n + j]` over an m×n matrix. */
function columnSums(x: Float32Array, sums: Float32Array, m: number, n: number): void {
  sums.fill(0, 0, n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) sums[j] += x[i * n + j];
}
