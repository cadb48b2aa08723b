import {
  describeTransferDivergence,
  type TransferRun,
  type TransferSummary,
} from '../experiments/transfer.js';
import { type ChartSeries, renderLineChart } from './charts.js';
import { epochPoints, meanCurve, writeTextFiles } from './files.js';
import { renderHtmlReport, type ReportSection } from './html.js';
import type { WrittenReport } from './optimizers.js';

type ModelKey = 'modelA' | 'modelB' | 'modelBOnA';

const SPLITS = [
  { prefix: '', name: 'training' },
  { prefix: 'val_', name: 'validation' },
] as const;

/** Per-epoch curve of `key` for one model, averaged over the runs. */
function curve(runs: readonly TransferRun[], model: ModelKey, key: string): number[] {
  return meanCurve(runs.map((run) => run[model]?.history[key]));
}

/**
 * Mean (± sd) of a figure over the runs that finished; with none (the study diverged in its first run),
 * `missing`, which says why.
 */
function cell(
  runs: readonly TransferRun[],
  values: (run: TransferRun) => number,
  digits = 4,
  missing = 'not run',
): string {
  const complete = runs.filter((run) => !run.diverged);
  if (complete.length === 0) return missing;
  const list = complete.map(values);
  const mean = list.reduce((a, b) => a + b, 0) / list.length;
  if (list.length === 1) return mean.toFixed(digits);
  const sd = Math.sqrt(list.reduce((a, b) => a + (b - mean) ** 2, 0) / (list.length - 1));
  return `${mean.toFixed(digits)} ± ${sd.toFixed(digits)}`;
}

/**
 * Writes the transfer study's report into `outDir`: learning curves as SVG files (`model_a_accuracy.svg`,
 * `model_a_loss.svg`: model A on task A; `task_b_accuracy.svg`, `task_b_loss.svg`: B from scratch against
 * B on A, with the epoch where the reused layers were unfrozen marked) and a self-contained `report.html`
 * with the test table and the charts inline. Several seeds: mean curves, mean ± sd in the table.
 */
export async function writeTransferReport(
  result: TransferRun | TransferSummary,
  outDir: string,
): Promise<WrittenReport> {
  const runs = 'runs' in result ? result.runs : [result];
  if (runs.length === 0) throw new RangeError('writeTransferReport: the result holds no run');
  const meanNote = runs.length > 1 ? `mean over ${runs.length} seeds` : `seed ${runs[0].seed}`;
  const frozenEpochs = Math.max(...runs.map((run) => run.modelBOnA?.phases.frozen.loss?.length ?? 0));
  const unfrozenEpochs = Math.max(...runs.map((run) => run.modelBOnA?.phases.unfrozen.loss?.length ?? 0));
  const diverged = runs.find((run) => run.diverged)?.diverged ?? null;
  const divergedModel: ModelKey | null =
    diverged === null
      ? null
      : diverged.phase.startsWith('model B on A')
        ? 'modelBOnA'
        : diverged.phase === 'model B'
          ? 'modelB'
          : 'modelA';
  const missing = (model: ModelKey): string => (model === divergedModel ? 'diverged' : 'not run');
  const svgs: Record<string, string> = {};

  const trainedA = runs.some((run) => (run.modelA.history.loss?.length ?? 0) > 0);
  if (trainedA) {
    for (const metric of ['accuracy', 'loss'] as const) {
      svgs[`model_a_${metric}.svg`] = await renderLineChart({
        title: `Model A on task A: ${metric}`,
        subtitle: `8 classes, ${meanNote}`,
        yTitle: metric === 'loss' ? 'loss (log scale)' : 'accuracy',
        yScale: metric === 'loss' ? 'log' : 'linear',
        colorTitle: 'data',
        series: SPLITS.map((split) => ({
          name: split.name,
          points: epochPoints(curve(runs, 'modelA', split.prefix + metric)),
        })),
      });
    }
  }

  const marker =
    frozenEpochs > 0 && unfrozenEpochs > 0
      ? [{ x: frozenEpochs + 0.5, label: `reused layers unfrozen after epoch ${frozenEpochs}` }]
      : [];
  for (const metric of ['accuracy', 'loss'] as const) {
    const series: ChartSeries[] = [];
    for (const [model, name] of [
      ['modelB', 'B from scratch'],
      ['modelBOnA', 'B on A (reused layers)'],
    ] as const) {
      for (const split of SPLITS) {
        series.push({
          name,
          dash: split.name,
          points: epochPoints(curve(runs, model, split.prefix + metric)),
        });
      }
    }
    svgs[`task_b_${metric}.svg`] = await renderLineChart({
      title: `Task B (sandal or shirt, 200 training images): ${metric}`,
      subtitle: `B on A trains with the reused layers frozen for ${frozenEpochs} epochs, then unfrozen; ${meanNote}`,
      yTitle: metric === 'loss' ? 'loss (log scale)' : 'accuracy',
      yScale: metric === 'loss' ? 'log' : 'linear',
      colorTitle: 'model',
      dashTitle: 'data',
      dashOrder: ['validation', 'training'],
      series,
      markers: marker,
    });
  }

  const complete = runs.filter((run) => !run.diverged);
  const seconds = (model: ModelKey) =>
    cell(runs, (run) => run.seconds[model]!, 1, missing(model)) + (complete.length > 0 ? ' s' : '');
  const test = (model: ModelKey, metric: 'loss' | 'accuracy') =>
    cell(runs, (run) => run[model]!.test![metric], 4, missing(model));
  const ratio =
    complete.length === 0 ? `none, ${diverged!.phase} diverged` : cell(runs, (run) => run.errorRateRatio!, 2);
  const sections: ReportSection[] = [
    ...(diverged === null
      ? []
      : [
          {
            heading: 'Training diverged',
            paragraphs: [
              `${describeTransferDivergence(diverged)}.` +
                (complete.length > 0
                  ? ` The figures below are over the ${complete.length} seed${complete.length > 1 ? 's' : ''} that finished before it.`
                  : ''),
            ],
          },
        ]),
    {
      heading: 'Test set',
      paragraphs: [
        `Error-rate ratio (B's test error divided by B on A's): ${ratio}. ` +
          (complete.length === 0
            ? ''
            : `Model A stayed intact while B on A trained: ${complete.every((run) => run.modelAIntact) ? 'yes' : 'no'}.`),
      ],
      table: {
        header: ['model', 'task', 'test loss', 'test accuracy', 'time'],
        numeric: [2, 3, 4],
        rows: [
          ['A', 'A (8 classes)', test('modelA', 'loss'), test('modelA', 'accuracy'), seconds('modelA')],
          [
            'B from scratch',
            'B (sandal/shirt)',
            test('modelB', 'loss'),
            test('modelB', 'accuracy'),
            seconds('modelB'),
          ],
          [
            'B on A (reused)',
            'B (sandal/shirt)',
            test('modelBOnA', 'loss'),
            test('modelBOnA', 'accuracy'),
            seconds('modelBOnA'),
          ],
        ],
        caption: complete.length > 1 ? `Mean ± sd over ${complete.length} seeds.` : undefined,
      },
    },
    {
      heading: 'Task B: from scratch against reused layers',
      paragraphs: ['Solid lines: validation data. Dashed: training data (running mean over each epoch).'],
      charts: [svgs['task_b_accuracy.svg'], svgs['task_b_loss.svg']],
    },
  ];
  if (trainedA) {
    sections.push({
      heading: 'Model A on task A',
      charts: [svgs['model_a_accuracy.svg'], svgs['model_a_loss.svg']],
    });
  } else {
    sections.push({
      heading: 'Model A on task A',
      paragraphs: ['Model A was loaded from a file, not trained here: no curves.'],
    });
  }
  const cnn = runs.some((run) => run.architecture === 'cnn');
  const rates = [...new Set(runs.map((run) => run.learningRate).filter((rate) => rate !== undefined))];
  const network = cnn
    ? 'a small CNN (Conv2D 32, MaxPool, Conv2D 64, MaxPool, Dense 128)'
    : "the notebook's dense network";
  const html = renderHtmlReport({
    title: `Transfer learning${cnn ? ' with a CNN' : ''}: reusing model A for task B`,
    subtitle:
      `Fashion-MNIST, the Hands-On ML notebook's study with ${network}` +
      `${rates.length > 0 ? `, SGD learning rate ${rates.join(', ')}` : ''}; ${meanNote}`,
    sections,
  });
  const files = await writeTextFiles(outDir, { ...svgs, 'report.html': html });
  return { html: files['report.html'], files };
}
