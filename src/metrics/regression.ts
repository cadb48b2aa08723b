import { checkOptions } from '../kernels/options.js';
import {
  MeanAccumulator,
  Metric,
  METRIC_OPTION_KEYS,
  type MetricOptions,
  type MetricAccumulator,
  type MetricContext,
  MetricShapeError,
} from './metric.js';

function errorAccumulator(
  kind: 'mean_absolute_error' | 'mean_squared_error',
  name: string,
  context: MetricContext,
): MetricAccumulator {
  const { outputWidth, targetWidth } = context;
  // Keras cannot broadcast one class index over several outputs either (it fails on the shapes).
  if (targetWidth !== outputWidth) {
    throw new MetricShapeError(
      `metric '${name}' compares each output with its target: it needs ${outputWidth} target values per sample (the output width), got ${targetWidth}`,
    );
  }
  return new MeanAccumulator((kernels, yPred, yTrue, m, n) =>
    kernels.metricSum(kind, yPred, yTrue, m, n, targetWidth, 0),
  );
}

/**
 * Keras's `mean_absolute_error` metric (`'mae'`): per sample `mean_j |t_j − p_j|`, averaged over samples.
 * Targets must be as wide as the outputs.
 */
export class MeanAbsoluteErrorMetric extends Metric {
  readonly className = 'MeanAbsoluteError';
  readonly direction = 'down' as const;
  constructor(options: MetricOptions = {}) {
    checkOptions('MeanAbsoluteErrorMetric', options, METRIC_OPTION_KEYS);
    super(options.name ?? 'mean_absolute_error');
  }
  accumulator(context: MetricContext): MetricAccumulator {
    return errorAccumulator('mean_absolute_error', this.name, context);
  }
  renamed(name: string): Metric {
    return new MeanAbsoluteErrorMetric({ name });
  }
}

/** Keras's `mean_squared_error` metric (`'mse'`): per sample `mean_j (t_j − p_j)²`, averaged over samples. */
export class MeanSquaredErrorMetric extends Metric {
  readonly className = 'MeanSquaredError';
  readonly direction = 'down' as const;
  constructor(options: MetricOptions = {}) {
    checkOptions('MeanSquaredErrorMetric', options, METRIC_OPTION_KEYS);
    super(options.name ?? 'mean_squared_error');
  }
  accumulator(context: MetricContext): MetricAccumulator {
    return errorAccumulator('mean_squared_error', this.name, context);
  }
  renamed(name: string): Metric {
    return new MeanSquaredErrorMetric({ name });
  }
}
