/**
 * Writing report files: Node only (the study page renders the same charts in the browser instead).
 * @module
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomically } from '../datasets/index.js';

/** Writes text files into `outDir` (created if missing), each atomically; returns their paths by name. */
export async function writeTextFiles(
  outDir: string,
  files: Readonly<Record<string, string>>,
): Promise<Record<string, string>> {
  await mkdir(outDir, { recursive: true });
  const encoder = new TextEncoder();
  const paths: Record<string, string> = {};
  for (const [name, text] of Object.entries(files)) {
    const path = join(outDir, name);
    await writeFileAtomically(path, encoder.encode(text));
    paths[name] = path;
  }
  return paths;
}

// The pure curve helpers moved to curves.ts (the study page uses them too); re-exported for old imports.
export { epochPoints, meanCurve } from './curves.js';
