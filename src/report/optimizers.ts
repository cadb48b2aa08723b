import type { ContenderResult, MeanSd, OptimizerRaceResult } from '../experiments/optimizers.js';
import { describeDivergence } from '../experiments/results.js';
import { type ChartSeries, renderLineChart } from './charts.js';
import { epochPoints, writeTextFiles } from './files.js';
import { renderHtmlReport, type ReportTable } from './html.js';

/** What {@link writeOptimizerReport} wrote: file name → path. */
export interface WrittenReport {
  /** The HTML page. */
  html: string;
  /** Every file written, by name (`report.html`, `val_accuracy.svg`, …). */
  files: Record<string, string>;
}

const VARIANT_NAMES = { seed: 'seed hyperparameters', tuned: 'tuned learning rate' } as const;

/** A learning-curve chart of the race: one line per contender. */
interface Curve {
  key: string;
  file: string;
  title: string;
  yTitle: string;
  log: boolean;
  /** Zoom on the leaders: the y range spans the top `zoom` of accuracy below the best value. */
  zoom?: number;
}

/** The race's charts, in the order the report shows them. */
const CURVES: readonly Curve[] = [
  {
    key: 'val_accuracy',
    file: 'val_accuracy.svg',
    title: 'Validation accuracy',
    yTitle: 'validation accuracy',
    log: false,
  },
  {
    key: 'val_accuracy',
    file: 'val_accuracy_top.svg',
    title: 'Validation accuracy, zoomed on the leaders',
    yTitle: 'validation accuracy',
    log: false,
    zoom: 0.05,
  },
  { key: 'loss', file: 'loss.svg', title: 'Training loss', yTitle: 'training loss (log scale)', log: true },
  {
    key: 'val_loss',
    file: 'val_loss.svg',
    title: 'Validation loss',
    yTitle: 'validation loss (log scale)',
    log: true,
  },
  {
    key: 'accuracy',
    file: 'accuracy.svg',
    title: 'Training accuracy',
    yTitle: 'training accuracy',
    log: false,
  },
];

/** `[best − zoom, best]` widened to whole hundredths; null when there is no finite value. */
function zoomDomain(
  contenders: readonly ContenderResult[],
  key: string,
  zoom: number,
): [number, number] | null {
  const values = contenders.flatMap((contender) => contender.meanHistory[key] ?? []).filter(Number.isFinite);
  if (values.length === 0) return null;
  const best = Math.max(...values);
  return [Math.floor((best - zoom) * 100) / 100, Math.min(1, Math.ceil((best + 0.002) * 100) / 100)];
}

function series(contenders: readonly ContenderResult[], key: string): ChartSeries[] {
  return contenders.map((contender) => ({
    name: contender.label,
    dash: VARIANT_NAMES[contender.variant],
    points: epochPoints(contender.meanHistory[key]),
  }));
}

function cell(value: MeanSd, runs: number): string {
  // NaN is null once results.json has been read back.
  if (typeof value.mean !== 'number' || Number.isNaN(value.mean)) return 'NaN';
  return runs > 1 ? `${value.mean.toFixed(4)} ± ${value.sd.toFixed(4)}` : value.mean.toFixed(4);
}

/** The race's table, as the CLI prints it. */
export function optimizerReportTable(result: OptimizerRaceResult): ReportTable {
  return {
    header: [
      'contender',
      'optimizer',
      'final val_acc',
      'best val_acc',
      'best epoch',
      'epochs to 90%',
      'time',
    ],
    numeric: [2, 3, 4, 5, 6],
    rows: result.contenders.map((contender) => {
      const { summary, runs } = contender;
      const diverged = runs.filter((run) => run.diverged).length;
      return [
        contender.name + (diverged > 0 ? ` (diverged${runs.length > 1 ? ` ×${diverged}` : ''})` : ''),
        contender.description,
        cell(summary.finalValAccuracy, runs.length),
        cell(summary.bestValAccuracy, runs.length),
        summary.bestEpoch === 0 ? '—' : String(summary.bestEpoch),
        summary.epochsTo90 === null ? '—' : String(summary.epochsTo90),
        `${summary.seconds.mean.toFixed(1)} s`,
      ];
    }),
    caption:
      result.seeds.length > 1
        ? `Mean ± sd over ${result.seeds.length} seeds; best epoch and epochs to 90 % are read off the mean curve.`
        : undefined,
  };
}

/**
 * Writes the race's learning curves as SVG files (`val_accuracy.svg`, `val_accuracy_top.svg` zoomed on the
 * leaders, `loss.svg`, `val_loss.svg`, `accuracy.svg`: one line per contender, colored by optimizer, dashed
 * for tuned learning rates) and a
 * self-contained `report.html` (the table, the charts inline, and why each tuned rate) into `outDir`.
 * With several seeds the curves are per-epoch means.
 */
export async function writeOptimizerReport(
  result: OptimizerRaceResult,
  outDir: string,
): Promise<WrittenReport> {
  const contenders = result.contenders;
  const seeds = result.seeds.length;
  const subtitle =
    `Task ${result.task} of Fashion-MNIST (${result.classes} classes), ${result.samples.train} training and ` +
    `${result.samples.valid} validation images, ${result.epochs} epochs, batch ${result.batchSize}, ` +
    `${seeds === 1 ? `seed ${result.seeds[0]}` : `${seeds} seeds (mean curves)`}, ${result.backend} backend`;
  const svgs: Record<string, string> = {};
  const dashOrder = [VARIANT_NAMES.seed, VARIANT_NAMES.tuned].filter((name) =>
    contenders.some((contender) => VARIANT_NAMES[contender.variant] === name),
  );
  for (const curve of CURVES) {
    const domain = curve.zoom === undefined ? null : zoomDomain(contenders, curve.key, curve.zoom);
    const notes = [
      ...(domain === null
        ? []
        : [`lines below ${domain[0].toFixed(2)} leave the chart: see the full range above`]),
      ...(seeds > 1 ? [`mean over ${seeds} seeds`] : []),
    ];
    svgs[curve.file] = await renderLineChart({
      title: curve.title,
      subtitle: notes.length > 0 ? notes.join('; ') : undefined,
      yTitle: curve.yTitle,
      series: series(contenders, curve.key),
      colorTitle: 'optimizer',
      dashTitle: 'hyperparameters',
      dashOrder,
      yScale: curve.log ? 'log' : 'linear',
      ...(domain === null ? {} : { yDomain: domain }),
    });
  }
  const digests = [...new Set(result.initialWeights.map((entry) => entry.sha256.slice(0, 12)))];
  const html = renderHtmlReport({
    title: 'Optimizer race',
    subtitle,
    sections: [
      {
        heading: 'Results',
        paragraphs: [
          `Same network for every optimizer (Flatten, Dense 300/100/50/50/50 selu, softmax head) and the same ` +
            `initial weights (sha256 ${digests.join(', ')}…${seeds > 1 ? ', one per seed' : ''}), the same batches in ` +
            `the same order. "Epochs to 90%" is the first epoch whose validation accuracy reached 0.90.`,
        ],
        table: optimizerReportTable(result),
      },
      ...((result.diverged ?? []).length === 0
        ? []
        : [
            {
              heading: 'Diverged',
              paragraphs: result.diverged!.map(
                (diverged) =>
                  `${describeDivergence(diverged)}: its curves end there, and its figures cover the epochs before.`,
              ),
            },
          ]),
      {
        heading: 'Learning curves',
        paragraphs: [
          "Solid lines: the seed notebook's hyperparameters. Dashed: a learning rate suited to this network.",
        ],
        charts: CURVES.map((curve) => svgs[curve.file]),
      },
      {
        heading: 'Learning rates',
        paragraphs: [
          'Each seed rate was checked with a short sweep (task A, 5 epochs, seed 42); a tuned copy runs only ' +
            'where the seed rate does not suit this network.',
        ],
        table: {
          header: ['contender', 'optimizer', 'learning rate'],
          rows: contenders.map((contender) => [contender.name, contender.description, contender.note]),
        },
      },
    ],
  });
  const files = await writeTextFiles(outDir, { ...svgs, 'report.html': html });
  return { html: files['report.html'], files };
}
