/**
 * A child process for `test/io-files.test.ts`: builds a large model (4 MB of weights) and saves it over
 * and over into the folder given as its argument, alternately as `big.h5` and `big.keras`, printing `saved`
 * after each save, until it is killed.
 *
 * Run: `node --import tsx test/helpers/saveLoop.ts <folder>`.
 */
import { join } from 'node:path';
import { saveModel } from '../../src/io/index.js';
import { Dense } from '../../src/layers/dense.js';
import { Sequential } from '../../src/models/sequential.js';
import { setRandomSeed } from '../../src/tensor/random.js';

const folder = process.argv[2];
if (folder === undefined) throw new Error('usage: saveLoop.ts <folder>');
setRandomSeed(3);
const model = new Sequential([
  new Dense({ units: 1000, activation: 'relu', inputShape: [1000] }),
  new Dense({ units: 10, activation: 'softmax' }),
]);
model.compile({ optimizer: 'sgd', loss: 'sparse_categorical_crossentropy' });
process.stdout.write('ready\n');
for (let i = 0; ; i++) {
  await saveModel(model, join(folder, i % 2 === 0 ? 'big.h5' : 'big.keras'));
  process.stdout.write('saved\n');
}
