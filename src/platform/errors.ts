/**
 * Thrown when something needs what the current platform lacks: a file system or environment variables in
 * a browser, say. The message names the feature and what to use instead.
 */
export class NotAvailableError extends Error {
  override readonly name = 'NotAvailableError';
  /** What was asked for, e.g. `CSVLogger (writes a file)`. */
  readonly feature: string;

  /**
   * @param feature - what was asked for
   * @param advice - what to do instead (one sentence), or empty
   */
  constructor(feature: string, advice = '') {
    super(`warmstart: ${feature} is not available in a browser${advice === '' ? '' : `: ${advice}`}`);
    this.feature = feature;
  }
}
