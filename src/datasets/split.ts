import { checkOptions, type OptionKeys } from '../kernels/options.js';
import type { ImageSplit } from './idxDataset.js';

/** Label of Fashion-MNIST's sandals, the negative class of task B. */
const SANDAL_LABEL = 5;
/** Label of Fashion-MNIST's shirts, the positive class of task B. */
const SHIRT_LABEL = 6;

/** Task A's class names, indexed by its labels: Fashion-MNIST without sandals and shirts. */
export const TASK_A_CLASS_NAMES: readonly string[] = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sneaker',
  'Bag',
  'Ankle boot',
];

/** Task B's class names, indexed by its labels: 0 = sandal, 1 = shirt. */
export const TASK_B_CLASS_NAMES: readonly string[] = ['Sandal', 'Shirt'];

/** Training, validation and test sets of one task. */
export interface TaskSplits {
  /** Training set. */
  train: ImageSplit;
  /** Validation set. */
  valid: ImageSplit;
  /** Test set. */
  test: ImageSplit;
}

/** The two tasks of the transfer-learning experiment, and their class names. */
export interface TaskABSplit {
  /** Task A: 8-way classification of everything but sandals and shirts. */
  taskA: TaskSplits;
  /** Task B: sandal (0) or shirt (1), with only 200 training images. */
  taskB: TaskSplits;
  /** Task A's class names (8). */
  classNamesA: string[];
  /** Task B's class names: `['Sandal', 'Shirt']`. */
  classNamesB: string[];
}

/** Sizes of the split; the defaults are the notebook's. */
export interface TaskABSplitOptions {
  /** The first this many training images form the validation set. Default: 5000. */
  validationCount?: number;
  /** Task B keeps only the first this many of its training images. Default: 200. */
  taskBTrainCount?: number;
}

/** The keys of {@link TaskABSplitOptions}. */
const TASK_AB_SPLIT_OPTION_KEYS = {
  validationCount: true,
  taskBTrainCount: true,
} as const satisfies OptionKeys<TaskABSplitOptions>;

/**
 * Splits Fashion-MNIST into task A and task B exactly as the Hands-On Machine Learning notebook (chapter 11,
 * "Reusing Pretrained Layers") does, keeping the order of the examples:
 *
 * ```python
 * X_valid, X_train = X_train_full[:5000], X_train_full[5000:]   # same for y
 * def split_dataset(X, y):
 *     y_5_or_6 = (y == 5) | (y == 6)  # sandals or shirts
 *     y_A = y[~y_5_or_6]
 *     y_A[y_A > 6] -= 2               # class indices 7, 8, 9 become 5, 6, 7
 *     y_B = (y[y_5_or_6] == 6).astype(np.float32)  # is it a shirt?
 *     return ((X[~y_5_or_6], y_A), (X[y_5_or_6], y_B))
 * # applied to train, valid and test, then:
 * X_train_B, y_train_B = X_train_B[:200], y_train_B[:200]
 * ```
 *
 * Task B's labels stay bytes (0 or 1) here; the notebook's float32 is a later conversion.
 *
 * @param data - Fashion-MNIST's training and test sets, e.g. the result of `loadFashionMnist`
 * @param options - sizes of the split, the notebook's by default
 */
export function splitTaskAB(
  data: { train: ImageSplit; test: ImageSplit },
  options: TaskABSplitOptions = {},
): TaskABSplit {
  checkOptions('splitTaskAB', options, TASK_AB_SPLIT_OPTION_KEYS);
  const validationCount = options.validationCount ?? 5000;
  const taskBTrainCount = options.taskBTrainCount ?? 200;
  if (validationCount > data.train.count) {
    throw new RangeError(
      `splitTaskAB: the validation set takes the first ${validationCount} training images, there are only ${data.train.count}`,
    );
  }
  // Views, not copies: splitSandalsAndShirts copies every image into its own arrays anyway, and a second
  // copy of the 47 MB training set would only be garbage for the collector to find.
  const valid = viewExamples(data.train, 0, validationCount);
  const train = viewExamples(data.train, validationCount, data.train.count);
  const [trainA, trainB] = splitSandalsAndShirts(train);
  const [validA, validB] = splitSandalsAndShirts(valid);
  const [testA, testB] = splitSandalsAndShirts(data.test);
  return {
    taskA: { train: trainA, valid: validA, test: testA },
    taskB: {
      train: sliceExamples(trainB, 0, Math.min(taskBTrainCount, trainB.count)),
      valid: validB,
      test: testB,
    },
    classNamesA: [...TASK_A_CLASS_NAMES],
    classNamesB: [...TASK_B_CLASS_NAMES],
  };
}

/**
 * Converts images of bytes to floats, multiplying each byte by `scale` (by default 1/255, giving values in
 * [0, 1] as the notebook's `X / 255.`).
 *
 * @param images - grey levels 0–255
 * @param scale - factor applied to each byte
 */
export function toFloat32Images(images: Uint8Array, scale = 1 / 255): Float32Array {
  const floats = new Float32Array(images.length);
  for (let index = 0; index < images.length; index++) floats[index] = images[index]! * scale;
  return floats;
}

/** The notebook's `split_dataset`: (everything but sandals and shirts, relabelled) and (sandal 0 / shirt 1). */
function splitSandalsAndShirts(split: ImageSplit): [ImageSplit, ImageSplit] {
  const pixelsPerImage = pixelsPerImageOf(split);
  let countB = 0;
  for (let index = 0; index < split.count; index++) {
    if (isSandalOrShirt(split.labels[index]!)) countB++;
  }
  const countA = split.count - countB;
  const taskA = emptySplit(countA, pixelsPerImage);
  const taskB = emptySplit(countB, pixelsPerImage);
  let nextA = 0;
  let nextB = 0;
  for (let index = 0; index < split.count; index++) {
    const label = split.labels[index]!;
    const image = split.images.subarray(index * pixelsPerImage, (index + 1) * pixelsPerImage);
    if (isSandalOrShirt(label)) {
      taskB.images.set(image, nextB * pixelsPerImage);
      taskB.labels[nextB++] = label === SHIRT_LABEL ? 1 : 0;
    } else {
      taskA.images.set(image, nextA * pixelsPerImage);
      taskA.labels[nextA++] = label > SHIRT_LABEL ? label - 2 : label;
    }
  }
  return [taskA, taskB];
}

function isSandalOrShirt(label: number): boolean {
  return label === SANDAL_LABEL || label === SHIRT_LABEL;
}

function sliceExamples(split: ImageSplit, start: number, end: number): ImageSplit {
  const pixelsPerImage = pixelsPerImageOf(split);
  return {
    images: split.images.slice(start * pixelsPerImage, end * pixelsPerImage),
    labels: split.labels.slice(start, end),
    count: end - start,
  };
}

/** Examples `[start, end)` of `split`, sharing its memory. */
function viewExamples(split: ImageSplit, start: number, end: number): ImageSplit {
  const pixelsPerImage = pixelsPerImageOf(split);
  return {
    images: split.images.subarray(start * pixelsPerImage, end * pixelsPerImage),
    labels: split.labels.subarray(start, end),
    count: end - start,
  };
}

function emptySplit(count: number, pixelsPerImage: number): ImageSplit {
  return { images: new Uint8Array(count * pixelsPerImage), labels: new Uint8Array(count), count };
}

function pixelsPerImageOf(split: ImageSplit): number {
  if (split.labels.length !== split.count) {
    throw new RangeError(`splitTaskAB: ${split.labels.length} labels for ${split.count} examples`);
  }
  if (split.count === 0) return 0;
  const pixelsPerImage = split.images.length / split.count;
  if (!Number.isInteger(pixelsPerImage)) {
    throw new RangeError(
      `splitTaskAB: ${split.images.length} pixels do not divide into ${split.count} images`,
    );
  }
  return pixelsPerImage;
}
