import * as host from '../../platform/host.js';
import type { TextFile } from '../../platform/types.js';
import { checkOptions, type OptionKeys } from '../../kernels/options.js';
import { Callback, type Logs } from '../callbacks.js';
import { CallbackArgumentError } from './common.js';
import { pythonFloatRepr } from './pythonFormat.js';

/** Options of {@link CSVLogger}. */
export interface CSVLoggerOptions {
  /** Field separator (default `','`). */
  separator?: string;
  /** Append to an existing file (no second header) instead of overwriting it (default false). */
  append?: boolean;
}

/** The keys of {@link CSVLoggerOptions}. */
const CSV_LOGGER_OPTION_KEYS = {
  separator: true,
  append: true,
} as const satisfies OptionKeys<CSVLoggerOptions>;

const OWNER = 'CSVLogger';

/**
 * Streams each epoch's logs to a CSV file, as Keras's `CSVLogger`, in the same layout: an `epoch` column
 * (0-based) then the log keys sorted by name (with `val_` columns of `NA` when there is no validation),
 * Python's float notation, `\r\n` line ends, and quoting only where a field needs it. Each row is written
 * when its epoch ends, so the file is useful while training runs.
 *
 * ```ts
 * callbacks: [new CSVLogger('runs/training.csv', { append: true })]
 * ```
 */
export class CSVLogger extends Callback {
  /** The CSV file. */
  readonly filename: string;
  /** The field separator. */
  readonly separator: string;
  /** Whether rows are appended to an existing file. */
  readonly append: boolean;
  private keys: string[] | null = null;
  private file: TextFile | null = null;
  private writeHeader = true;

  constructor(filename: string, options: CSVLoggerOptions = {}) {
    checkOptions('CSVLogger', options, CSV_LOGGER_OPTION_KEYS);
    super();
    if (typeof filename !== 'string' || filename.length === 0) {
      throw new CallbackArgumentError(
        `${OWNER}: filename must be a non-empty string, got ${String(filename)}`,
      );
    }
    const separator = options.separator ?? ',';
    if (typeof separator !== 'string' || separator.length !== 1 || /[\r\n"]/.test(separator)) {
      throw new CallbackArgumentError(
        `${OWNER}: separator must be one character other than a quote or a line break, got ${JSON.stringify(separator)}`,
      );
    }
    this.filename = filename;
    this.separator = separator;
    this.append = options.append ?? false;
  }

  override async onTrainBegin(): Promise<void> {
    await this.close();
    this.writeHeader = true;
    if (this.append) {
      const existing = await host.readTextFile(this.filename).catch(() => '');
      this.writeHeader = existing.split('\n', 1)[0].length === 0;
    }
    const folder = host.parentFolder(this.filename);
    if (folder !== '' && folder !== '.') await host.makeDirectory(folder);
    this.file = await host.openTextFile(this.filename, this.append ? 'a' : 'w');
    this.keys = null;
  }

  private field(text: string): string {
    if (text.includes(this.separator) || /["\r\n]/.test(text)) return `"${text.replace(/"/g, '""')}"`;
    return text;
  }

  override async onEpochEnd(epoch: number, logs: Logs): Promise<void> {
    if (this.file === null)
      throw new CallbackArgumentError(`${OWNER}: the file is not open (onTrainBegin did not run)`);
    if (this.keys === null) {
      const keys = Object.keys(logs).sort();
      if (keys.length > 0 && !keys.some((key) => key.startsWith('val_')))
        keys.push(...keys.map((key) => `val_${key}`));
      this.keys = keys;
    }
    let text = '';
    if (this.writeHeader) {
      text += ['epoch', ...this.keys].map((key) => this.field(key)).join(this.separator) + '\r\n';
      this.writeHeader = false;
    }
    const row = [String(epoch), ...this.keys.map((key) => (key in logs ? pythonFloatRepr(logs[key]) : 'NA'))];
    text += row.map((value) => this.field(value)).join(this.separator) + '\r\n';
    await this.file.write(text);
  }

  override async onTrainEnd(): Promise<void> {
    await this.close();
  }

  private async close(): Promise<void> {
    const file = this.file;
    this.file = null;
    if (file !== null) await file.close();
  }
}
