import { checkOptions, type OptionKeys } from '../kernels/options.js';
import { Metric, type MetricContext, MetricShapeError } from './metric.js';

/**
 * What the metric classes share: the options checked against their keys, the default name, and
 * {@link Metric.renamed} making the same class again, from the same settings, under another name.
 *
 * A subclass's constructor takes its options object alone (`new (options) => Metric`).
 */
export abstract class OptionsMetric<Options extends { name?: string }> extends Metric {
  protected constructor(
    options: Options,
    optionsOwner: string,
    optionKeys: OptionKeys<Options>,
    defaultName: string,
  ) {
    checkOptions(optionsOwner, options, optionKeys);
    super(options.name ?? defaultName);
  }

  /** The options, name aside, that make this metric again (none for a metric whose only option is its name). */
  protected settings(): Omit<Options, 'name'> {
    return {} as Omit<Options, 'name'>;
  }

  renamed(name: string): Metric {
    const SameMetric = this.constructor as new (options: Options) => Metric;
    return new SameMetric({ ...this.settings(), name } as Options);
  }
}

/**
 * Checks that a metric comparing each output with its own target sees targets as wide as the outputs.
 * @throws MetricShapeError naming the metric and both widths
 */
export function requireTargetsAsWideAsOutputs(name: string, context: MetricContext): void {
  if (context.targetWidth !== context.outputWidth) {
    throw new MetricShapeError(
      `metric '${name}' compares each output with its target: it needs ${context.outputWidth} target values per sample (the output width), got ${context.targetWidth}`,
    );
  }
}
