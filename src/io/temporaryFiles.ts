/**
 * The temporary files of atomic saves (Node platform layer): where they go, how they are named, and how the
 * ones a killed process left behind are found and removed.
 *
 * A save writes `.<name>.<pid>@<host>.<8 hex>.tmp` next to its destination and renames it over the
 * destination once it is complete and verified; nothing is written anywhere else (the HDF5 worker works in
 * memory). A process killed mid-save cannot remove its temporary file, so each save first removes, in its own
 * folder, the temporary files of processes that no longer exist: same host (the name says which), and no
 * process with that id. A live process's file is never touched, so concurrent savers are safe. Names of
 * warmstart 0.1.0 (`.<name>.<pid>.<8 hex>.tmp`, no host) are recognised too.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';

/** This machine's name as it appears in temporary names (letters, digits and `-` only). */
const HOST =
  hostname()
    .replace(/[^A-Za-z0-9-]/g, '-')
    .slice(0, 40) || 'host';

const CURRENT = /^\..+\.(\d+)@([A-Za-z0-9-]+)\.[0-9a-f]{8}\.tmp$/;
const LEGACY = /^\..+\.(\d+)\.[0-9a-f]{8}\.tmp$/;

/** A fresh temporary path next to `path`, named after it, this process and this host. */
export function temporaryPathFor(path: string): string {
  return join(
    dirname(path),
    `.${basename(path)}.${process.pid}@${HOST}.${randomBytes(4).toString('hex')}.tmp`,
  );
}

/** The process id a temporary file name belongs to, if it is one of ours made on this host; else null. */
export function temporaryOwner(name: string): number | null {
  const current = CURRENT.exec(name);
  if (current !== null) return current[2] === HOST ? Number(current[1]) : null;
  const legacy = LEGACY.exec(name);
  return legacy === null ? null : Number(legacy[1]);
}

/** Whether a process with this id exists (on this host). */
export function processExists(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0); // Signal 0 only asks whether the process exists.
    return true;
  } catch (error) {
    // EPERM: it exists, under another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes, in `folder`, the temporary files of saves whose process no longer exists. Best effort: a file that
 * cannot be listed or removed is left alone (it does not stop the save). Returns the names removed.
 */
export async function removeStaleTemporaries(folder: string): Promise<string[]> {
  let names: string[];
  try {
    names = await fs.readdir(folder);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const owner = temporaryOwner(name);
    if (owner === null || processExists(owner)) continue;
    try {
      await fs.rm(join(folder, name), { force: true });
      removed.push(name);
    } catch {
      // Another process may be removing it at the same time, or the folder is read-only.
    }
  }
  return removed;
}
