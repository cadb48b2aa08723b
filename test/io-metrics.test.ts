import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModel } from '../src/io/index.js';
import { Dense } from '../src/layers/dense.js';
import { Sequential } from '../src/models/sequential.js';

const folder = mkdtempSync(join(tmpdir(), 'warmstart-io-metrics-'));

for (const format of ['h5', 'keras']) {
  test(`the metrics beyond accuracy survive a .${format} save and load`, async () => {
    const model = new Sequential([
      new Dense({ inputShape: [3], units: 4, activation: 'relu' }),
      new Dense({ units: 1, activation: 'sigmoid' }),
    ]);
    model.compile({
      optimizer: 'sgd',
      loss: 'binary_crossentropy',
      metrics: ['accuracy', 'mae', 'mse', 'AUC', 'Precision', 'Recall'],
    });
    const path = join(folder, `metrics.${format}`);
    await model.save(path);
    const warnings: string[] = [];
    const loaded = await loadModel(path, { onWarning: (message: string) => warnings.push(message) });
    assert.deepEqual(loaded.compileMetricNames, ['accuracy', 'mae', 'mse', 'AUC', 'Precision', 'Recall']);
    assert.deepEqual(warnings, []);
  });
}

test('cleanup', () => rmSync(folder, { recursive: true, force: true }));
