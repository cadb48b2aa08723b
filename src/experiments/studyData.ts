/**
 * The transfer study's data, held as compactly as the study allows: every split keeps its images as the
 * dataset's bytes (one byte a pixel) and makes the float tensors the models take (four bytes a pixel) when a
 * phase asks for them; the phase releases them when it ends. Task A's training set, which every seed's model A
 * trains on, is the exception: it becomes floats once and drops its bytes, so that no split is ever held twice
 * in full.
 * @module
 */
import type { Hash } from 'node:crypto';
import type { ImageSplit } from '../datasets/index.js';
import { Tensor } from '../tensor/tensor.js';

/** Images of 28×28 pixels. */
const IMAGE_SHAPE = [28, 28] as const;
const PIXELS_PER_IMAGE = IMAGE_SHAPE[0] * IMAGE_SHAPE[1];
/** The notebook's `X / 255.`: each byte times this factor, computed in double and stored as float32. */
const PIXEL_SCALE = 1 / 255;
/** Pixels converted at a time when hashing from bytes (256 KiB of floats). */
const DIGEST_CHUNK = 65536;

/** How a split keeps its images between phases. */
export type SplitRetention = 'bytes' | 'floats';

/**
 * One split of a task (images and labels) as the study needs it: `x` (`[n, 28, 28]`, pixels scaled to [0, 1])
 * and `y` (class indices `[n]`, or `[n, 1]` for task B's 0/1 labels) are made on first use and kept until
 * {@link release}.
 */
export class StudySplit {
  /** The number of images. */
  readonly rows: number;
  /** `y`'s shape: `[n]` (class indices) or `[n, 1]` (a binary task's 0/1 labels). */
  private readonly labelShape: number[];
  /** The images and labels as the dataset holds them; null once a `'floats'` split has made its tensors. */
  private bytes: { images: Uint8Array; labels: Uint8Array } | null;
  private tensors: { x: Tensor; y: Tensor } | null = null;
  private readonly retention: SplitRetention;

  /**
   * @param split - images (one byte a pixel, 28×28 each) and labels; kept, not copied
   * @param binary - labels as `[n, 1]` (binary cross-entropy's targets) instead of `[n]`
   * @param retention - `'bytes'` (default): `release` drops the floats and keeps the bytes; `'floats'`: the
   * first use turns the bytes into floats for good (for a split every run trains on)
   */
  constructor(split: ImageSplit, binary: boolean, retention: SplitRetention = 'bytes') {
    if (split.images.length !== split.count * PIXELS_PER_IMAGE || split.labels.length !== split.count) {
      throw new RangeError(
        `StudySplit: ${split.count} images of ${PIXELS_PER_IMAGE} pixels need ${split.count * PIXELS_PER_IMAGE} bytes and ${split.count} labels, got ${split.images.length} and ${split.labels.length}`,
      );
    }
    this.rows = split.count;
    this.labelShape = binary ? [split.count, 1] : [split.count];
    this.bytes = { images: split.images, labels: split.labels };
    this.retention = retention;
  }

  /** The images as floats in [0, 1], `[n, 28, 28]` (the notebook's `X / 255.`). */
  get x(): Tensor {
    return this.materialize().x;
  }

  /** The labels as floats, `[n]` or `[n, 1]`. */
  get y(): Tensor {
    return this.materialize().y;
  }

  /**
   * Drops the float tensors (the next use makes them again from the bytes, identical); a `'floats'` split has
   * no bytes left and keeps them.
   */
  release(): void {
    if (this.bytes !== null) this.tensors = null;
  }

  /**
   * Drops everything the split holds, floats and bytes, once nothing will use it again (the study's last
   * model A has trained); any later use is a RangeError.
   */
  discard(): void {
    this.bytes = null;
    this.tensors = null;
  }

  /** Bytes this split holds now: its images and labels as bytes and/or as floats. */
  get heldBytes(): number {
    let held = 0;
    if (this.bytes !== null) held += this.bytes.images.byteLength + this.bytes.labels.byteLength;
    if (this.tensors !== null) held += this.tensors.x.data.byteLength + this.tensors.y.data.byteLength;
    return held;
  }

  /**
   * Feeds `hash` exactly what `tensorsDigest([x, y])` (resume.ts) feeds it, without making the floats when
   * they are not there: each shape as JSON, then the float32 bytes, converted a chunk at a time.
   */
  updateDigest(hash: Hash): void {
    if (this.bytes === null && this.tensors === null) {
      throw new RangeError('StudySplit: the split was discarded');
    }
    hash.update(JSON.stringify([this.rows, ...IMAGE_SHAPE]));
    if (this.tensors !== null) {
      hash.update(floatBytes(this.tensors.x.data));
      hash.update(JSON.stringify(this.labelShape));
      hash.update(floatBytes(this.tensors.y.data));
      return;
    }
    const { images, labels } = this.bytes!;
    const chunk = new Float32Array(Math.min(DIGEST_CHUNK, images.length));
    for (let start = 0; start < images.length; start += chunk.length) {
      const count = Math.min(chunk.length, images.length - start);
      for (let i = 0; i < count; i++) chunk[i] = images[start + i]! * PIXEL_SCALE;
      hash.update(floatBytes(chunk.subarray(0, count)));
    }
    hash.update(JSON.stringify(this.labelShape));
    hash.update(floatBytes(Float32Array.from(labels)));
  }

  private materialize(): { x: Tensor; y: Tensor } {
    if (this.tensors === null) {
      if (this.bytes === null) throw new RangeError('StudySplit: the split was discarded');
      const { images, labels } = this.bytes;
      const floats = new Float32Array(images.length);
      for (let i = 0; i < images.length; i++) floats[i] = images[i]! * PIXEL_SCALE;
      this.tensors = {
        x: new Tensor(floats, [this.rows, ...IMAGE_SHAPE]),
        y: new Tensor(Float32Array.from(labels), this.labelShape),
      };
      if (this.retention === 'floats') this.bytes = null;
    }
    return this.tensors;
  }
}

/** A task's three splits. */
export interface StudyTask {
  train: StudySplit;
  valid: StudySplit;
  test: StudySplit;
}

/** Bytes the splits of `tasks` hold now (see {@link StudySplit.heldBytes}). */
export function heldBytes(...tasks: StudyTask[]): number {
  return tasks.reduce(
    (sum, task) => sum + task.train.heldBytes + task.valid.heldBytes + task.test.heldBytes,
    0,
  );
}

function floatBytes(values: Float32Array): Uint8Array {
  return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
}
