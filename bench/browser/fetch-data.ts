/**
 * Task A's bytes from the bench server (bench/browser.ts serves what Node loaded, so both sides train on
 * the same images): `/data/<name>.bin` for the four arrays of {@link TaskBytes}.
 * @module
 */
import type { TaskBytes } from './workload.js';

async function bytes(name: keyof TaskBytes): Promise<Uint8Array> {
  const response = await fetch(`/data/${name}.bin`);
  if (!response.ok) throw new Error(`/data/${name}.bin: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

/** Fetches the four arrays of task A. */
export async function fetchTaskBytes(): Promise<TaskBytes> {
  const [trainImages, trainLabels, validImages, validLabels] = await Promise.all([
    bytes('trainImages'),
    bytes('trainLabels'),
    bytes('validImages'),
    bytes('validLabels'),
  ]);
  return { trainImages, trainLabels, validImages, validLabels };
}
