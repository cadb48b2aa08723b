/**
 * The study page: the notebook's transfer-learning study and optimizer race, trained in the browser.
 *
 * The engine comes from the package's browser bundle (`import … from 'warmstart'`, an import map in
 * index.html); this file is bundled with the charts (Vega-Lite, the same specifications as the reports the
 * CLI writes). Query options, for short runs: `?epochs=2&frozen=1&unfrozen=1&slice=5000&run=all`.
 * @module
 */
import { parse, View } from 'vega';
import { compile } from 'vega-lite';
import {
  Callback,
  cloneModel,
  Dense,
  deserializeOptimizer,
  downloadModel,
  Flatten,
  type ActivationName,
  type InitializerLike,
  type KerasConfig,
  type Kernels,
  loadFashionMnist,
  type Logs,
  ready,
  Sequential,
  setRandomSeed,
  SGD,
  splitTaskAB,
  Tensor,
  TerminateOnNaN,
  toFloat32Images,
  WasmKernels,
  type BaseModel,
  type DownloadProgress,
  type ImageSplit,
} from '../src/index.js';
import { type LineChartSpec, lineChartSpec } from '../src/report/charts.js';
import { epochPoints } from '../src/report/curves.js';
import { escapeHtml, REPORT_STYLE } from '../src/report/html.js';

// ---------------------------------------------------------------------------------------------------------
// Settings: the notebook's, each overridable from the query string.

/** What the page runs. */
interface Settings {
  epochsA: number;
  epochsB: number;
  frozen: number;
  unfrozen: number;
  /** Task A training images used (0: all 55,000). */
  slice: number;
  seed: number;
  batchSize: number;
  learningRate: number;
  raceEpochs: number;
  /** Contender names or variants (`seed`, `tuned`) of the race; null: all. */
  raceOnly: string[] | null;
  /** What starts on load: the transfer study (default), the race, both, or nothing. */
  run: 'transfer' | 'race' | 'all' | 'none';
}

function readSettings(query: URLSearchParams): Settings {
  const count = (name: string, fallback: number, minimum = 0): number => {
    const text = query.get(name);
    if (text === null || text === '') return fallback;
    const value = Number(text);
    if (!Number.isInteger(value) || value < minimum) {
      throw new Error(`the query option ${name} must be an integer ≥ ${minimum}, got '${text}'`);
    }
    return value;
  };
  const epochs = count('epochs', 20, 1);
  const run = query.get('run') ?? 'transfer';
  if (!['transfer', 'race', 'all', 'none'].includes(run)) {
    throw new Error(`the query option run must be transfer, race, all or none, got '${run}'`);
  }
  const only = query.get('only');
  return {
    epochsA: count('epochsA', epochs, 1),
    epochsB: count('epochsB', epochs, 1),
    frozen: count('frozen', 4, 1),
    unfrozen: count('unfrozen', 16, 1),
    slice: count('slice', 0),
    seed: count('seed', 42),
    batchSize: count('batch', 32, 1),
    learningRate: 1e-3,
    raceEpochs: count('raceEpochs', 10, 1),
    raceOnly: only === null ? null : only.split(',').map((name) => name.trim().toLowerCase()),
    run: run as Settings['run'],
  };
}

// ---------------------------------------------------------------------------------------------------------
// The page: elements, state, progress.

const element = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const found = document.getElementById(id);
  if (found === null) throw new Error(`the page has no #${id}`);
  return found as T;
};

/** What the page did, for people with a console and for the browser tests. */
const study = {
  settings: null as Settings | null,
  backend: '',
  description: null as StudyDescription | null,
  transfer: null as TransferResult | null,
  race: [] as RaceEntry[],
  /** Model A, once trained (what the download button saves). */
  modelA: null as Sequential | null,
  /** Delay between an input event and its handler, per tab click (the page must answer while it trains). */
  inputDelays: [] as number[],
};
(globalThis as { study?: typeof study }).study = study;

/** `loading`, `training`, `idle` (between runs), `done`, `error`: the tests wait on it. */
function setState(state: string): void {
  document.body.dataset.state = state;
}

let lastStatusUpdate = 0;
function showProgress(fraction: number, text: string, force = false): void {
  element<HTMLProgressElement>('progress').value = fraction;
  const now = performance.now();
  // The text changes at most ten times a second: more is unreadable and costs layout.
  if (force || now - lastStatusUpdate > 100) {
    element('status').textContent = text;
    lastStatusUpdate = now;
  }
}

/** Another task's turn (input, rendering) before the next slice of work. */
function nextTask(): Promise<void> {
  return new Promise((done) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => {
      channel.port1.close();
      done();
    };
    channel.port2.postMessage(null);
  });
}

/**
 * Builds a model (its initial weights are drawn here, tens of milliseconds for the notebook's network) on a
 * task of its own, marked `preparing`: the page's `training` state, which the browser test watches for long
 * tasks, covers `fit` and evaluation.
 */
async function preparing<T>(build: () => T): Promise<T> {
  setState('preparing');
  await nextTask();
  const built = build();
  await nextTask();
  setState('training');
  return built;
}

/** Reports batch and epoch progress of one `fit`, and hands each epoch's logs to `onEpoch`. */
class PageProgress extends Callback {
  private epoch = 0;

  constructor(
    private readonly label: string,
    private readonly onEpoch: (epoch: number, logs: Logs) => void | Promise<void>,
  ) {
    super();
  }

  override onEpochBegin(epoch: number): void {
    this.epoch = epoch;
  }

  override onBatchEnd(batch: number, logs: Logs): void {
    const { epochs, steps, initialEpoch } = this.params!;
    const done = (this.epoch - initialEpoch) * steps + batch + 1;
    const metrics = Object.entries(logs)
      .map(([key, value]) => `${key} ${value.toFixed(4)}`)
      .join(' · ');
    showProgress(
      done / ((epochs - initialEpoch) * steps),
      `${this.label}: epoch ${this.epoch + 1}/${epochs}, batch ${batch + 1}/${steps} · ${metrics}`,
    );
  }

  override async onEpochEnd(epoch: number, logs: Logs): Promise<void> {
    await this.onEpoch(epoch, { ...logs });
  }
}

// ---------------------------------------------------------------------------------------------------------
// Charts: the reports' Vega-Lite specifications, drawn as SVG in the page.

/**
 * A chart drawn once, with its final layout (every series, every epoch on the x axis, the markers), then fed
 * the curves as training goes: an update is a data change, a few milliseconds, where drawing anew (compiling
 * the Vega-Lite specification, parsing, laying out) takes tens.
 */
class LiveChart {
  private view: View | null = null;
  private dataName = '';

  constructor(private readonly id: string) {}

  /** Draws the chart from scratch. */
  async draw(spec: LineChartSpec): Promise<void> {
    const vegaSpec = compile(lineChartSpec(spec)).spec;
    // The line layer's inline data is the dataset whose rows have a `series` (the markers' have none).
    const lineData = vegaSpec.data?.find(
      (data) => 'values' in data && Array.isArray(data.values) && 'series' in (data.values[0] ?? {}),
    );
    if (lineData === undefined) throw new Error(`chart ${this.id}: no line data in the compiled chart`);
    const view = new View(parse(vegaSpec), { renderer: 'svg', container: element(this.id), hover: false });
    await view.runAsync();
    this.view?.finalize();
    this.view = view;
    this.dataName = lineData.name;
  }

  /** Replaces the curves: `spec` must have the layout `draw` was given, with other values. */
  async update(spec: LineChartSpec): Promise<void> {
    if (this.view === null) return this.draw(spec);
    const layers = (lineChartSpec(spec) as { layer: { data: { values: unknown[] } }[] }).layer;
    this.view.data(this.dataName, layers[0]!.data.values);
    // Wider axis labels need more room: lay the chart's bounds out again.
    await this.view.resize().runAsync();
  }
}

/**
 * Updates charts on tasks of their own, one chart per task and at most every 250 ms: B's epochs take a few
 * milliseconds, and redrawing at each would crowd out the training and the page's input.
 */
class ChartQueue {
  private readonly charts = new Map<string, LiveChart>();
  private readonly pending = new Map<string, () => LineChartSpec>();
  private running: Promise<void> | null = null;
  private lastDraw = -Infinity;

  /** Draws chart `id` from scratch, now (before training: its layout, its axes, empty curves). */
  async draw(id: string, spec: LineChartSpec): Promise<void> {
    const chart = this.charts.get(id) ?? new LiveChart(id);
    this.charts.set(id, chart);
    await chart.draw(spec);
    await nextTask();
  }

  /** Updates chart `id` soon, with the specification `spec()` returns then (the latest data). */
  request(id: string, spec: () => LineChartSpec): void {
    this.pending.set(id, spec);
    this.running ??= this.drain();
  }

  /** Resolves when every requested update is drawn. */
  async flush(): Promise<void> {
    while (this.running !== null) await this.running;
  }

  private async drain(): Promise<void> {
    await new Promise((wait) => setTimeout(wait, Math.max(0, 250 - (performance.now() - this.lastDraw))));
    for (const [id, spec] of this.pending) {
      this.pending.delete(id);
      const chart = this.charts.get(id) ?? new LiveChart(id);
      this.charts.set(id, chart);
      await chart.update(spec());
      await nextTask();
    }
    this.lastDraw = performance.now();
    this.running = null;
  }
}

const charts = new ChartQueue();

/** `[[1, v₁], …, [epochs, v_epochs]]`, null for epochs not trained yet: the x axis is final from the start. */
function epochSeries(values: readonly number[] | undefined, epochs: number): Array<[number, number | null]> {
  const points = epochPoints(values);
  for (let epoch = points.length + 1; epoch <= epochs; epoch++) points.push([epoch, null]);
  return points;
}

const SPLITS = [
  { prefix: '', name: 'training' },
  { prefix: 'val_', name: 'validation' },
] as const;

function appendLogs(history: Record<string, number[]>, logs: Logs): void {
  for (const [key, value] of Object.entries(logs)) (history[key] ??= []).push(value);
}

function modelAChart(metric: 'accuracy' | 'loss', history: Record<string, number[]>): LineChartSpec {
  const settings = study.settings!;
  return {
    title: `Model A on task A: ${metric}`,
    subtitle: `8 classes, seed ${settings.seed}`,
    yTitle: metric === 'loss' ? 'loss (log scale)' : 'accuracy',
    yScale: metric === 'loss' ? 'log' : 'linear',
    colorTitle: 'data',
    series: SPLITS.map((split) => ({
      name: split.name,
      points: epochSeries(history[split.prefix + metric], settings.epochsA),
    })),
  };
}

function taskBChart(
  metric: 'accuracy' | 'loss',
  historyB: Record<string, number[]>,
  historyBOnA: Record<string, number[]>,
): LineChartSpec {
  const settings = study.settings!;
  const epochs = Math.max(settings.epochsB, settings.frozen + settings.unfrozen);
  const models = [
    [historyB, 'B from scratch'],
    [historyBOnA, 'B on A (reused layers)'],
  ] as const;
  return {
    title: `Task B (sandal or shirt, 200 training images): ${metric}`,
    subtitle: `B on A trains with the reused layers frozen for ${settings.frozen} epochs, then unfrozen`,
    yTitle: metric === 'loss' ? 'loss (log scale)' : 'accuracy',
    yScale: metric === 'loss' ? 'log' : 'linear',
    colorTitle: 'model',
    dashTitle: 'data',
    dashOrder: ['validation', 'training'],
    series: models.flatMap(([history, name]) =>
      SPLITS.map((split) => ({
        name,
        dash: split.name,
        points: epochSeries(history[split.prefix + metric], epochs),
      })),
    ),
    markers: [{ x: settings.frozen + 0.5, label: `reused layers unfrozen after epoch ${settings.frozen}` }],
  };
}

/** The transfer study's four charts, empty, before training starts. */
async function drawTransferCharts(): Promise<void> {
  for (const metric of ['accuracy', 'loss'] as const) {
    await charts.draw(`chart-task-b-${metric}`, taskBChart(metric, {}, {}));
    await charts.draw(`chart-model-a-${metric}`, modelAChart(metric, {}));
  }
}

function fillTable(id: string, header: string[], rows: string[][], numeric: number[]): void {
  const cell = (tag: 'th' | 'td', text: string, column: number): string =>
    `<${tag}${numeric.includes(column) ? ' class="num"' : ''}>${escapeHtml(text)}</${tag}>`;
  element(id).innerHTML =
    `<thead><tr>${header.map((text, column) => cell('th', text, column)).join('')}</tr></thead>` +
    `<tbody>${rows.map((row) => `<tr>${row.map((text, column) => cell('td', text, column)).join('')}</tr>`).join('')}</tbody>`;
}

// ---------------------------------------------------------------------------------------------------------
// Data and models.

interface Labelled {
  x: Tensor;
  y: Tensor;
}

interface StudyData {
  taskA: { train: Labelled; valid: Labelled; test: Labelled };
  taskB: { train: Labelled; valid: Labelled; test: Labelled };
}

function labelled(split: ImageSplit, binary: boolean, limit = 0): Labelled {
  const count = limit > 0 ? Math.min(limit, split.count) : split.count;
  const images = split.images.subarray(0, count * 28 * 28);
  const labels = Float32Array.from(split.labels.subarray(0, count));
  return {
    x: new Tensor(toFloat32Images(images), [count, 28, 28]),
    y: new Tensor(labels, binary ? [count, 1] : [count]),
  };
}

async function loadData(settings: Settings): Promise<StudyData> {
  const onProgress = (progress: DownloadProgress): void => {
    const total = progress.totalBytes ?? progress.receivedBytes;
    showProgress(
      total > 0 ? progress.receivedBytes / total : 0,
      `Fashion-MNIST: ${progress.file} ${(progress.receivedBytes / 1e6).toFixed(1)} MB`,
    );
  };
  // The server of `warmstart serve` has the dataset at ./data/; the loader caches it in the Cache API.
  const dataset = await loadFashionMnist({ dataUrl: new URL('./data/', location.href), onProgress });
  showProgress(1, `Fashion-MNIST (${dataset.release} release): preparing tasks A and B…`, true);
  await nextTask();
  const { taskA, taskB } = splitTaskAB(dataset);
  return {
    taskA: {
      train: labelled(taskA.train, false, settings.slice),
      valid: labelled(taskA.valid, false),
      test: labelled(taskA.test, false),
    },
    taskB: {
      train: labelled(taskB.train, true),
      valid: labelled(taskB.valid, true),
      test: labelled(taskB.test, true),
    },
  };
}

/** One hidden layer of the notebook's network, as `warmstart serve` describes it. */
interface HiddenLayer {
  units: number;
  activation: ActivationName;
  kernelInitializer: InitializerLike;
}

/** What the page takes from the CLI's studies (`/study.json` of `warmstart serve`). */
interface StudyDescription {
  hidden: HiddenLayer[];
  contenders: Contender[];
}

async function fetchStudyDescription(): Promise<StudyDescription> {
  const response = await fetch('./study.json');
  if (!response.ok) {
    throw new Error(`the page needs /study.json from \`warmstart serve\` (HTTP ${response.status})`);
  }
  return (await response.json()) as StudyDescription;
}

/** The notebook's dense network (its hidden layers as the CLI builds them), then `head`. */
function denseNetwork(head: Dense, name: string): Sequential {
  const model = new Sequential([new Flatten({ inputShape: [28, 28] })], { name });
  for (const layer of study.description!.hidden) model.add(new Dense(layer));
  model.add(head);
  return model;
}

/** `evaluate`'s options here: the logs by name, and no progress line (where `evaluate` prints one). */
const QUIET = { returnDict: true as const, verbose: 0 as const };

/** Test loss and accuracy, 250 images (a few milliseconds) at a time with the page's turn in between. */
async function evaluateInSlices(
  model: BaseModel,
  data: Labelled,
): Promise<{ loss: number; accuracy: number }> {
  let loss = 0;
  let accuracy = 0;
  const rows = data.x.rows;
  for (let start = 0; start < rows; start += 250) {
    const end = Math.min(rows, start + 250);
    const result = model.evaluate(data.x.slice(start, end), data.y.slice(start, end), QUIET);
    loss += result.loss! * (end - start);
    accuracy += result.accuracy! * (end - start);
    await nextTask();
  }
  return { loss: loss / rows, accuracy: accuracy / rows };
}

// ---------------------------------------------------------------------------------------------------------
// The transfer study.

interface ModelResult {
  loss: number;
  accuracy: number;
  seconds: number;
  history: Record<string, number[]>;
}

interface TransferResult {
  modelA: ModelResult;
  modelB: ModelResult;
  modelBOnA: ModelResult & { frozenEpochs: number };
  errorRateRatio: number;
  modelAIntact: boolean;
}

function sameWeights(a: Tensor[], b: Tensor[]): boolean {
  return a.every((weight, i) => weight.data.every((value, j) => Object.is(value, b[i]!.data[j])));
}

function showTransferTable(result: Partial<TransferResult>): void {
  const row = (model: string, task: string, entry: ModelResult | undefined): string[] =>
    entry === undefined
      ? [model, task, '…', '…', '…']
      : [model, task, entry.loss.toFixed(4), entry.accuracy.toFixed(4), `${entry.seconds.toFixed(1)} s`];
  fillTable(
    'transfer-table',
    ['model', 'task', 'test loss', 'test accuracy', 'time'],
    [
      row('A', 'A (8 classes)', result.modelA),
      row('B from scratch', 'B (sandal/shirt)', result.modelB),
      row('B on A (reused)', 'B (sandal/shirt)', result.modelBOnA),
    ],
    [2, 3, 4],
  );
  if (result.errorRateRatio !== undefined) {
    element('transfer-summary').textContent =
      `Error-rate ratio (B's test error divided by B on A's): ${result.errorRateRatio.toFixed(2)}. ` +
      `Model A stayed intact while B on A trained: ${result.modelAIntact ? 'yes' : 'no'}.`;
  }
}

async function runTransferStudy(settings: Settings, data: StudyData): Promise<TransferResult> {
  const { taskA, taskB } = data;
  const result: Partial<TransferResult> = {};
  showTransferTable(result);
  const compileFor = (model: BaseModel, loss: string): void =>
    model.compile({
      optimizer: new SGD({ learningRate: settings.learningRate }),
      loss,
      metrics: ['accuracy'],
    });
  const fitOptions = (epochs: number, validation: Labelled, callback: Callback) => ({
    epochs,
    batchSize: settings.batchSize,
    verbose: 0 as const,
    validationData: [validation.x, validation.y] as const,
    callbacks: [callback],
  });
  setRandomSeed(settings.seed);

  // Model A on task A.
  let started = performance.now();
  const modelA = await preparing(() => {
    const model = denseNetwork(new Dense({ units: 8, activation: 'softmax' }), 'model_A');
    compileFor(model, 'sparse_categorical_crossentropy');
    return model;
  });
  const historyA: Record<string, number[]> = {};
  await modelA.fit(
    taskA.train.x,
    taskA.train.y,
    fitOptions(
      settings.epochsA,
      taskA.valid,
      new PageProgress(`Model A (${taskA.train.x.rows} images)`, (_, logs) => {
        appendLogs(historyA, logs);
        for (const metric of ['accuracy', 'loss'] as const) {
          charts.request(`chart-model-a-${metric}`, () => modelAChart(metric, historyA));
        }
      }),
    ),
  );
  result.modelA = { ...(await evaluateInSlices(modelA, taskA.test)), seconds: 0, history: historyA };
  result.modelA.seconds = (performance.now() - started) / 1000;
  showTransferTable(result);
  offerModelA(modelA);

  // Model B from scratch on task B's 200 images.
  started = performance.now();
  const historyB: Record<string, number[]> = {};
  const historyBOnA: Record<string, number[]> = {};
  const redrawB = (): void => {
    for (const metric of ['accuracy', 'loss'] as const) {
      charts.request(`chart-task-b-${metric}`, () => taskBChart(metric, historyB, historyBOnA));
    }
  };
  const modelB = await preparing(() => {
    const model = denseNetwork(new Dense({ units: 1, activation: 'sigmoid' }), 'model_B');
    compileFor(model, 'binary_crossentropy');
    return model;
  });
  await modelB.fit(
    taskB.train.x,
    taskB.train.y,
    fitOptions(
      settings.epochsB,
      taskB.valid,
      new PageProgress('B from scratch', (_, logs) => {
        appendLogs(historyB, logs);
        redrawB();
      }),
    ),
  );
  result.modelB = { ...(await evaluateInSlices(modelB, taskB.test)), seconds: 0, history: historyB };
  result.modelB.seconds = (performance.now() - started) / 1000;
  showTransferTable(result);

  // B on A: clone A and copy its weights (A stays intact), swap the head, freeze, train, unfreeze, train on.
  started = performance.now();
  const weightsOfA = modelA.getWeights();
  const modelBOnA = await preparing(() => {
    const cloneA = cloneModel(modelA);
    cloneA.setWeights(weightsOfA);
    const model = new Sequential(cloneA.layers.slice(0, -1), { name: 'model_B_on_A' });
    model.add(new Dense({ units: 1, activation: 'sigmoid' }));
    for (const layer of model.layers.slice(0, -1)) layer.trainable = false;
    compileFor(model, 'binary_crossentropy');
    return model;
  });
  const onEpochBOnA = (_: number, logs: Logs): void => {
    appendLogs(historyBOnA, logs);
    redrawB();
  };
  await modelBOnA.fit(
    taskB.train.x,
    taskB.train.y,
    fitOptions(settings.frozen, taskB.valid, new PageProgress('B on A, reused layers frozen', onEpochBOnA)),
  );
  await preparing(() => {
    for (const layer of modelBOnA.layers.slice(0, -1)) layer.trainable = true;
    compileFor(modelBOnA, 'binary_crossentropy');
  });
  await modelBOnA.fit(
    taskB.train.x,
    taskB.train.y,
    fitOptions(settings.unfrozen, taskB.valid, new PageProgress('B on A, unfrozen', onEpochBOnA)),
  );
  result.modelBOnA = {
    ...(await evaluateInSlices(modelBOnA, taskB.test)),
    seconds: (performance.now() - started) / 1000,
    history: historyBOnA,
    frozenEpochs: settings.frozen,
  };
  result.errorRateRatio = (1 - result.modelB.accuracy) / (1 - result.modelBOnA.accuracy);
  result.modelAIntact = sameWeights(modelA.getWeights(), weightsOfA);
  showTransferTable(result);
  await charts.flush();
  return result as TransferResult;
}

/** The download button: model A as Keras's `.h5`, the file the notebook saves (`my_model_A.h5`). */
function offerModelA(modelA: Sequential): void {
  study.modelA = modelA;
  const button = element<HTMLButtonElement>('download-model-a');
  const note = element('download-note');
  button.disabled = false;
  note.textContent =
    'Keras’s HDF5 format, with the optimizer’s state: it loads in warmstart (loadModel) and in Python Keras (keras.models.load_model).';
  button.onclick = () => {
    button.disabled = true;
    note.textContent = 'Saving…';
    downloadModel(modelA, 'my_model_A.h5').then(
      () => {
        note.textContent =
          'Saved: see your downloads. It loads in warmstart (loadModel) and in Python Keras.';
        button.disabled = false;
      },
      (error: unknown) => {
        note.textContent = `Saving failed: ${error instanceof Error ? error.message : String(error)}`;
        button.disabled = false;
      },
    );
  };
}

// ---------------------------------------------------------------------------------------------------------
// The optimizer race.

/** A contender as `warmstart serve` describes it (from `src/experiments/optimizers.ts`). */
interface Contender {
  name: string;
  label: string;
  variant: 'seed' | 'tuned';
  className: string;
  config: KerasConfig;
  description: string;
}

interface RaceEntry {
  contender: Contender;
  history: Record<string, number[]>;
  seconds: number;
  finished: boolean;
}

const VARIANT_NAMES = { seed: 'seed hyperparameters', tuned: 'tuned learning rate' } as const;

function raceChart(entries: readonly RaceEntry[], key: 'val_accuracy' | 'loss'): LineChartSpec {
  const epochs = study.settings!.raceEpochs;
  return {
    title: key === 'loss' ? 'Training loss' : 'Validation accuracy',
    yTitle: key === 'loss' ? 'training loss (log scale)' : 'validation accuracy',
    yScale: key === 'loss' ? 'log' : 'linear',
    series: entries.map(({ contender, history }) => ({
      name: contender.label,
      dash: VARIANT_NAMES[contender.variant],
      points: epochSeries(history[key], epochs),
    })),
    colorTitle: 'optimizer',
    dashTitle: 'hyperparameters',
    dashOrder: [VARIANT_NAMES.seed, VARIANT_NAMES.tuned].filter((name) =>
      entries.some(({ contender }) => VARIANT_NAMES[contender.variant] === name),
    ),
  };
}

const RACE_CHARTS = [
  ['chart-race-val-accuracy', 'val_accuracy'],
  ['chart-race-loss', 'loss'],
] as const;

function showRace(entries: readonly RaceEntry[]): void {
  fillTable(
    'race-table',
    ['contender', 'optimizer', 'final val_acc', 'best val_acc', 'epochs to 90%', 'time'],
    entries.map(({ contender, history, seconds, finished }) => {
      const curve = history.val_accuracy ?? [];
      const reached = curve.findIndex((value) => value >= 0.9);
      return [
        contender.name,
        contender.description,
        curve.length === 0 ? '…' : curve[curve.length - 1]!.toFixed(4),
        curve.length === 0 ? '…' : Math.max(...curve).toFixed(4),
        reached < 0 ? '—' : String(reached + 1),
        finished ? `${seconds.toFixed(1)} s` : '…',
      ];
    }),
    [2, 3, 4, 5],
  );
  for (const [id, key] of RACE_CHARTS) charts.request(id, () => raceChart(entries, key));
}

/** The race's contenders (from `warmstart serve`), its table and its empty charts. */
async function prepareRace(settings: Settings, data: StudyData): Promise<RaceEntry[]> {
  const { contenders } = study.description!;
  const only = settings.raceOnly;
  const selected = contenders.filter(
    (contender) => only === null || only.includes(contender.name) || only.includes(contender.variant),
  );
  if (selected.length === 0) throw new Error(`no contender is called ${only?.join(', ')}`);
  const { train, valid } = data.taskA;
  element('race-summary').textContent =
    `The notebook's optimizers, each from the same initial weights with the same batches in the same order: ` +
    `task A, ${train.x.rows} training and ${valid.x.rows} validation images, ${plural(settings.raceEpochs, 'epoch')}, ` +
    `batch ${settings.batchSize}, seed ${settings.seed}.`;
  const entries: RaceEntry[] = selected.map((contender) => ({
    contender,
    history: {},
    seconds: 0,
    finished: false,
  }));
  study.race = entries;
  showRace(entries);
  for (const [id, key] of RACE_CHARTS) await charts.draw(id, raceChart(entries, key));
  return entries;
}

async function runRace(settings: Settings, data: StudyData, entries: RaceEntry[]): Promise<void> {
  const { train, valid } = data.taskA;
  setRandomSeed(settings.seed);
  const base = await preparing(() => {
    const model = denseNetwork(new Dense({ units: 8, activation: 'softmax' }), 'optimizer_race');
    model.build([28, 28]);
    return model;
  });
  const initial = base.getWeights();
  for (const [index, entry] of entries.entries()) {
    const model = await preparing(() => {
      const contender = cloneModel(base);
      contender.setWeights(initial);
      contender.compile({
        optimizer: deserializeOptimizer({
          class_name: entry.contender.className,
          config: entry.contender.config,
        }),
        loss: 'sparse_categorical_crossentropy',
        metrics: ['accuracy'],
      });
      return contender;
    });
    setRandomSeed(settings.seed);
    const started = performance.now();
    await model.fit(train.x, train.y, {
      epochs: settings.raceEpochs,
      batchSize: settings.batchSize,
      verbose: 0,
      validationData: [valid.x, valid.y],
      callbacks: [
        new TerminateOnNaN({ writer: { write: () => true } }),
        new PageProgress(`Race ${index + 1}/${entries.length}: ${entry.contender.description}`, (_, logs) => {
          appendLogs(entry.history, logs);
          showRace(entries);
        }),
      ],
    });
    entry.seconds = (performance.now() - started) / 1000;
    entry.finished = true;
    showRace(entries);
    await nextTask();
  }
  await charts.flush();
}

// ---------------------------------------------------------------------------------------------------------
// Start.

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

function describeBackend(kernels: Kernels): string {
  if (!(kernels instanceof WasmKernels)) return `${kernels.name} kernels (plain TypeScript: slow)`;
  const threads =
    kernels.info.threads > 1
      ? `${kernels.info.threads} threads`
      : '1 thread (threads in the browser come with the second half of issue #9)';
  return `WebAssembly SIMD${kernels.info.relaxedSimd ? ' (relaxed)' : ''}, ${threads}`;
}

function showTab(name: string): void {
  document.querySelectorAll<HTMLButtonElement>('[data-tab]').forEach((button) => {
    button.setAttribute('aria-selected', String(button.dataset.tab === name));
  });
  element('tab-transfer').hidden = name !== 'transfer';
  element('tab-race').hidden = name !== 'race';
}

async function main(): Promise<void> {
  const style = document.createElement('style');
  style.textContent = REPORT_STYLE + PAGE_STYLE;
  document.head.append(style);
  document.querySelectorAll<HTMLButtonElement>('[data-tab]').forEach((button) => {
    button.addEventListener('click', (event) => {
      study.inputDelays.push(performance.now() - event.timeStamp);
      showTab(button.dataset.tab!);
    });
  });
  const settings = readSettings(new URLSearchParams(location.search));
  study.settings = settings;
  const kernels = await ready();
  study.description = await fetchStudyDescription();
  study.backend = describeBackend(kernels);
  element('engine').textContent =
    `Engine: ${study.backend}; crossOriginIsolated: ${String(globalThis.crossOriginIsolated)}. ` +
    `Model A: ${plural(settings.epochsA, 'epoch')} on ${settings.slice > 0 ? `the first ${settings.slice}` : 'all'} ` +
    `task A images; B: ${plural(settings.epochsB, 'epoch')}; B on A: ${settings.frozen} frozen + ` +
    `${settings.unfrozen} unfrozen.`;
  setState('loading');
  const data = await loadData(settings);
  const raceButton = element<HTMLButtonElement>('race-start');
  const run = async (what: 'transfer' | 'race'): Promise<void> => {
    raceButton.disabled = true;
    // Charts are laid out before training (`preparing`); `training` covers the training itself.
    setState('preparing');
    try {
      if (what === 'transfer') {
        await drawTransferCharts();
        setState('training');
        study.transfer = await runTransferStudy(settings, data);
      } else {
        const entries = await prepareRace(settings, data);
        setState('training');
        await runRace(settings, data, entries);
      }
    } finally {
      raceButton.disabled = false;
    }
  };
  raceButton.addEventListener('click', () => {
    showTab('race');
    run('race').then(
      () => finish('Race finished.'),
      (error: unknown) => fail(error),
    );
  });
  if (settings.run === 'transfer' || settings.run === 'all') await run('transfer');
  if (settings.run === 'race' || settings.run === 'all') {
    showTab('race');
    await run('race');
  }
  finish(settings.run === 'none' ? 'Ready.' : 'Done.');
}

function finish(text: string): void {
  showProgress(1, text, true);
  setState('done');
}

function fail(error: unknown): void {
  const message = error instanceof Error ? error.message : String(error);
  const box = element('error');
  box.textContent = `Stopped: ${message}`;
  box.hidden = false;
  setState('error');
  console.error(error);
}

const PAGE_STYLE = `
  .tabs { display: flex; gap: 4px; border-bottom: 1px solid #ddd; margin-top: 16px; }
  .tabs button { font: inherit; border: 1px solid #ddd; border-bottom: none; background: #f5f5f5; padding: 6px 14px; cursor: pointer; }
  .tabs button[aria-selected="true"] { background: white; font-weight: bold; }
  .status { display: flex; align-items: center; gap: 12px; margin: 14px 0; color: #444; font-size: 14px; }
  .status progress { width: 280px; height: 14px; }
  .error { color: #a00; border: 1px solid #e4b4b4; background: #fff4f4; padding: 8px 12px; }
  button:disabled { cursor: not-allowed; }
  .charts > div { min-height: 40px; }
`;

main().catch(fail);
