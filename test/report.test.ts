import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ContenderResult, OptimizerRaceResult } from '../src/experiments/optimizers.js';
import type { TransferRun, TransferSummary } from '../src/experiments/transfer.js';
import {
  escapeHtml,
  inlineSvg,
  renderHtmlReport,
  renderLineChart,
  writeOptimizerReport,
  writeTransferReport,
} from '../src/report/index.js';

/**
 * Checks that `text` is well-formed XML as far as an SVG needs: every tag closes in order, attribute values
 * are quoted, ampersands are entities. Returns the element names in document order.
 */
function parseXml(text: string): string[] {
  const names: string[] = [];
  const stack: string[] = [];
  const body = text.replace(/^<\?xml[^>]*\?>\s*/, '');
  const tag = /<(\/?)([A-Za-z][\w:.-]*)((?:\s+[\w:.-]+\s*=\s*(?:"[^"<]*"|'[^'<]*'))*)\s*(\/?)>/y;
  let index = 0;
  while (index < body.length) {
    const next = body.indexOf('<', index);
    const textPart = body.slice(index, next < 0 ? body.length : next);
    assert.ok(
      !/&(?!(?:amp|lt|gt|quot|apos|#\d+|#x[\da-fA-F]+);)/.test(textPart),
      `bare & in text: ${textPart.slice(0, 60)}`,
    );
    if (next < 0) break;
    tag.lastIndex = next;
    const match = tag.exec(body);
    assert.ok(match !== null, `malformed tag at ${next}: ${body.slice(next, next + 80)}`);
    const [whole, closing, name, , selfClosing] = match;
    if (closing) assert.equal(stack.pop(), name, `</${name}> closes the wrong element`);
    else {
      names.push(name);
      if (!selfClosing) stack.push(name);
    }
    index = next + whole.length;
  }
  assert.deepEqual(stack, [], 'unclosed elements');
  return names;
}

/** The line paths of a Vega SVG: one per drawn series. */
function linePaths(svg: string): string[] {
  return [...svg.matchAll(/<path [^>]*aria-roledescription="line mark"[^>]*>/g)].map((match) => match[0]);
}

/** Text of every `<text>` element. */
function texts(svg: string): string[] {
  return [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((match) => match[1]);
}

function assertNoExternalUrl(html: string): void {
  assert.doesNotMatch(html, /\b(?:src|href)\s*=\s*["']?\s*(?:https?:)?\/\//i, 'no external src/href');
  assert.doesNotMatch(html, /https?:\/\//, 'no URL at all');
  assert.doesNotMatch(html, /<script|<link|@import|url\(\s*["']?http/i);
}

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'warmstart-report-'));
}

test('renderLineChart draws one line per series, a legend with their names, and the markers', async () => {
  const svg = await renderLineChart({
    title: 'Validation accuracy',
    yTitle: 'accuracy',
    colorTitle: 'optimizer',
    dashTitle: 'variant',
    series: [
      {
        name: 'Adam',
        dash: 'seed',
        points: [
          [1, 0.8],
          [2, 0.85],
          [3, 0.87],
        ],
      },
      {
        name: 'Adam',
        dash: 'tuned',
        points: [
          [1, 0.82],
          [2, 0.86],
          [3, 0.88],
        ],
      },
      {
        name: 'SGD & co <1>',
        dash: 'seed',
        points: [
          [1, 0.7],
          [2, 0.75],
          [3, Number.NaN],
        ],
      },
    ],
    markers: [{ x: 2.5, label: 'unfrozen here' }],
  });
  const elements = parseXml(svg);
  assert.equal(elements[0], 'svg');
  assert.match(svg, /^<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  assert.equal(linePaths(svg).length, 3);
  const labels = texts(svg);
  for (const name of [
    'Adam',
    'SGD &amp; co &lt;1&gt;',
    'seed',
    'tuned',
    'optimizer',
    'variant',
    'unfrozen here',
    'Validation accuracy',
    'epoch',
    'accuracy',
  ]) {
    assert.ok(labels.includes(name), `missing text '${name}' in ${labels.join(' | ')}`);
  }
  assert.equal([...svg.matchAll(/aria-roledescription="rule mark"/g)].length, 1, 'one marker rule');
  // The NaN ends the SGD line after epoch 2: two points, not three.
  const sgd = linePaths(svg).find((path) => path.includes('SGD'))!;
  assert.equal(/ d="([^"]*)"/.exec(sgd)![1].split('L').length, 2);
});

function contender(
  name: string,
  label: string,
  variant: 'seed' | 'tuned',
  history: Record<string, number[]>,
): ContenderResult {
  const run = {
    seed: 42,
    initialWeightsSha256: 'f'.repeat(64),
    history,
    finalValAccuracy: history.val_accuracy.at(-1)!,
    bestValAccuracy: Math.max(...history.val_accuracy),
    bestEpoch: 1,
    epochsTo90: null,
    diverged: history.loss.some((value) => !Number.isFinite(value)),
    seconds: 1.5,
  };
  return {
    name,
    family: name.replace('-tuned', ''),
    label,
    variant,
    description: `${label}(learning_rate=0.01)`,
    note: variant === 'tuned' ? 'a sweep <of rates> & epochs' : 'fine',
    optimizer: { class_name: label, config: { learning_rate: 0.01 } },
    runs: [run],
    meanHistory: history,
    summary: {
      finalValAccuracy: { mean: run.finalValAccuracy, sd: 0 },
      bestValAccuracy: { mean: run.bestValAccuracy, sd: 0 },
      bestEpoch: 2,
      epochsTo90: null,
      seconds: { mean: 1.5, sd: 0 },
    },
  };
}

function curves(start: number): Record<string, number[]> {
  const accuracy = [start, start + 0.05, start + 0.08];
  return {
    loss: accuracy.map((a) => 1 - a),
    accuracy,
    val_loss: accuracy.map((a) => 1.1 - a),
    val_accuracy: accuracy.map((a) => a - 0.01),
  };
}

test('writeOptimizerReport writes one SVG per curve with a line per contender, and a self-contained HTML page', async () => {
  const folder = tempDir();
  try {
    const diverged = {
      loss: [2, Number.NaN],
      accuracy: [0.3, 0.1],
      val_loss: [2.5, Number.NaN],
      val_accuracy: [0.3, 0.1],
    };
    const result: OptimizerRaceResult = {
      task: 'A',
      classes: 8,
      samples: { train: 100, valid: 50 },
      epochs: 3,
      batchSize: 32,
      backend: 'reference',
      seeds: [42],
      initialWeights: [{ seed: 42, sha256: 'f'.repeat(64) }],
      contenders: [
        contender('sgd', 'SGD', 'seed', curves(0.6)),
        contender('adagrad', 'Adagrad', 'seed', diverged),
        contender('sgd-tuned', 'SGD', 'tuned', curves(0.7)),
      ],
    };
    const written = await writeOptimizerReport(result, join(folder, 'out'));
    assert.deepEqual(readdirSync(join(folder, 'out')).sort(), [
      'accuracy.svg',
      'loss.svg',
      'report.html',
      'val_accuracy.svg',
      'val_accuracy_top.svg',
      'val_loss.svg',
    ]);
    assert.equal(written.html, join(folder, 'out', 'report.html'));
    for (const name of [
      'accuracy.svg',
      'loss.svg',
      'val_accuracy.svg',
      'val_accuracy_top.svg',
      'val_loss.svg',
    ]) {
      const svg = readFileSync(join(folder, 'out', name), 'utf8');
      parseXml(svg);
      assert.equal(linePaths(svg).length, 3, `${name}: one line per contender`);
      const labels = texts(svg);
      for (const legend of ['SGD', 'Adagrad', 'seed hyperparameters', 'tuned learning rate']) {
        assert.ok(labels.includes(legend), `${name} lacks legend '${legend}'`);
      }
    }
    const html = readFileSync(written.html, 'utf8');
    assert.match(html, /^<!DOCTYPE html>/);
    assertNoExternalUrl(html);
    assert.equal([...html.matchAll(/<svg\b/g)].length, 5);
    assert.match(html, /<td>adagrad \(diverged\)<\/td>/);
    // The zoomed chart spans the best accuracy (0.77) and 5 points below, in whole hundredths.
    assert.ok(texts(readFileSync(join(folder, 'out', 'val_accuracy_top.svg'), 'utf8')).includes('0.72'));
    assert.match(html, /<td>sgd-tuned<\/td>/);
    assert.match(html, /a sweep &lt;of rates&gt; &amp; epochs/);
    assert.match(
      html,
      /Task A of Fashion-MNIST \(8 classes\), 100 training and 50 validation images, 3 epochs/,
    );
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
});

function transferRun(seed: number, shift = 0): TransferRun {
  const history = (epochs: number, start: number) => {
    const accuracy = Array.from({ length: epochs }, (_, i) => Math.min(0.99, start + shift + 0.02 * i));
    return {
      loss: accuracy.map((a) => 1 - a),
      accuracy,
      val_loss: accuracy.map((a) => 1.05 - a),
      val_accuracy: accuracy,
    };
  };
  const frozen = history(4, 0.7);
  const unfrozen = history(16, 0.8);
  const merged: Record<string, number[]> = {};
  for (const key of Object.keys(frozen))
    merged[key] = [...frozen[key as keyof typeof frozen], ...unfrozen[key as keyof typeof unfrozen]];
  return {
    seed,
    modelA: { history: history(20, 0.6), test: { loss: 0.25, accuracy: 0.91 } },
    modelB: { history: history(20, 0.65), test: { loss: 0.1, accuracy: 0.96 } },
    modelBOnA: { history: merged, test: { loss: 0.05, accuracy: 0.99 }, phases: { frozen, unfrozen } },
    errorRateRatio: 4,
    modelAIntact: true,
    seconds: { modelA: 10, modelB: 1, modelBOnA: 1 },
  };
}

test('writeTransferReport draws A, B and B on A with the unfreeze boundary, in SVG files and one HTML page', async () => {
  const folder = tempDir();
  try {
    const written = await writeTransferReport(transferRun(42), folder);
    assert.deepEqual(readdirSync(folder).sort(), [
      'model_a_accuracy.svg',
      'model_a_loss.svg',
      'report.html',
      'task_b_accuracy.svg',
      'task_b_loss.svg',
    ]);
    for (const name of ['task_b_accuracy.svg', 'task_b_loss.svg']) {
      const svg = readFileSync(join(folder, name), 'utf8');
      parseXml(svg);
      assert.equal(linePaths(svg).length, 4, 'B and B on A, training and validation');
      const labels = texts(svg);
      for (const legend of ['B from scratch', 'B on A (reused layers)', 'validation', 'training'])
        assert.ok(labels.includes(legend));
      assert.ok(labels.includes('reused layers unfrozen after epoch 4'));
      assert.equal([...svg.matchAll(/aria-roledescription="rule mark"/g)].length, 1);
    }
    const modelA = readFileSync(join(folder, 'model_a_accuracy.svg'), 'utf8');
    assert.equal(linePaths(modelA).length, 2);
    const html = readFileSync(written.html, 'utf8');
    assertNoExternalUrl(html);
    assert.equal([...html.matchAll(/<svg\b/g)].length, 4);
    assert.match(html, /Error-rate ratio \(B&#39;s test error divided by B on A&#39;s\): 4\.00/);

    // Several seeds: mean curves and mean ± sd; a model A loaded from a file has no curves.
    const summary: TransferSummary = {
      runs: [transferRun(1), transferRun(2, 0.01)].map((run) => ({
        ...run,
        modelA: { ...run.modelA, history: {} },
      })),
      summary: {} as TransferSummary['summary'],
    };
    const second = await writeTransferReport(summary, join(folder, 'seeds'));
    assert.deepEqual(readdirSync(join(folder, 'seeds')).sort(), [
      'report.html',
      'task_b_accuracy.svg',
      'task_b_loss.svg',
    ]);
    const text = readFileSync(second.html, 'utf8');
    assert.match(text, /0\.9900 ± 0\.0000/);
    assert.match(text, /mean over 2 seeds/);
    assert.match(text, /Model A was loaded from a file/);
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
});

test('the HTML helpers escape text and strip namespace URLs from inline SVG', () => {
  assert.equal(escapeHtml(`<a href="x">&'</a>`), '&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;');
  assert.equal(
    inlineSvg(
      '<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"><use xlink:href="#a"/></svg>',
    ),
    '<svg><use href="#a"/></svg>',
  );
  const html = renderHtmlReport({
    title: 'T <1>',
    sections: [
      {
        heading: 'H',
        paragraphs: ['p & q'],
        table: { header: ['a', 'b'], rows: [['1', '2']], numeric: [1] },
      },
    ],
  });
  assert.match(html, /<title>T &lt;1&gt;<\/title>/);
  assert.match(html, /<td>1<\/td><td class="num">2<\/td>/);
  assertNoExternalUrl(html);
});
