import {
  MeanAccumulator,
  METRIC_OPTION_KEYS,
  type MetricOptions,
  type MetricAccumulator,
  type MetricContext,
} from './metric.js';
import { OptionsMetric, requireTargetsAsWideAsOutputs } from './optionsMetric.js';

/** The errors the kernels sum per sample. */
type ErrorKind = 'mean_absolute_error' | 'mean_squared_error';

/** What the error metrics share: the kernels sum one kind of error per sample; smaller is better. */
abstract class ErrorMetric extends OptionsMetric<MetricOptions> {
  readonly direction = 'down' as const;

  /** `kind` is also the default name, as in Keras. */
  protected constructor(
    options: MetricOptions,
    optionsOwner: string,
    private readonly kind: ErrorKind,
  ) {
    super(options, optionsOwner, METRIC_OPTION_KEYS, kind);
  }

  accumulator(context: MetricContext): MetricAccumulator {
    // Keras cannot broadcast one class index over several outputs either (it fails on the shapes).
    requireTargetsAsWideAsOutputs(this.name, context);
    const { targetWidth } = context;
    return new MeanAccumulator((kernels, yPred, yTrue, m, n) =>
      kernels.metricSum(this.kind, yPred, yTrue, m, n, targetWidth, 0),
    );
  }
}

/**
 * Keras's `mean_absolute_error` metric (`'mae'`): per sample `mean_j |t_j − p_j|`, averaged over samples.
 * Targets must be as wide as the outputs.
 */
export class MeanAbsoluteErrorMetric extends ErrorMetric {
  readonly className = 'MeanAbsoluteError';
  constructor(options: MetricOptions = {}) {
    super(options, 'MeanAbsoluteErrorMetric', 'mean_absolute_error');
  }
}

/** Keras's `mean_squared_error` metric (`'mse'`): per sample `mean_j (t_j − p_j)²`, averaged over samples. */
export class MeanSquaredErrorMetric extends ErrorMetric {
  readonly className = 'MeanSquaredError';
  constructor(options: MetricOptions = {}) {
    super(options, 'MeanSquaredErrorMetric', 'mean_squared_error');
  }
}
