/**
 * The one rule for tests that need files outside the code (Keras fixtures, recorded trajectories, the
 * dataset): skip with a printed reason on a developer's machine that lacks them, FAIL in CI.
 *
 * CI is recognised by the `CI` environment variable, as GitHub Actions, GitLab and most CI services set it:
 * any value other than empty, `0` or `false` counts.
 * @module
 */
import { existsSync } from 'node:fs';

/** Whether the tests run in CI (`CI` set to anything but empty, `0` or `false`). */
export const IN_CI: boolean = !['', '0', 'false'].includes((process.env.CI ?? '').trim().toLowerCase());

/** Thrown (under CI) when a test's fixture is missing. */
export class MissingFixtureError extends Error {
  override readonly name = 'MissingFixtureError';
}

/**
 * For `node:test`'s `skip` option: `false` when every path exists. When one is missing, outside CI it prints
 * `# skipped: <reason>: <path> is missing` and returns that text (the test is skipped and says why); under CI
 * it throws a {@link MissingFixtureError}, which fails the test file instead of letting the run stay green.
 *
 * `test(name, { skip: requireFixture(path, 'Keras-written model A') }, async () => { … })`
 */
export function requireFixture(paths: string | readonly string[], reason: string): string | false {
  const missing = (typeof paths === 'string' ? [paths] : paths).find((path) => !existsSync(path));
  if (missing === undefined) return false;
  const message = `${reason}: ${missing} is missing`;
  if (IN_CI) {
    throw new MissingFixtureError(
      `${message}, and CI=${process.env.CI} makes a missing fixture a failure (see test/fixtures/README.md)`,
    );
  }
  process.stdout.write(`# skipped: ${message}\n`);
  return message;
}
