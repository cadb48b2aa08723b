/**
 * Debian's Chromium, as the browser tests and `bench/browser.ts` drive it through playwright-core (never a
 * browser a package downloads). `WARMSTART_CHROMIUM` names another executable.
 * @module
 */

/** The Chromium executable: `$WARMSTART_CHROMIUM`, else Debian's `/usr/bin/chromium`. */
export const CHROMIUM = process.env['WARMSTART_CHROMIUM'] ?? '/usr/bin/chromium';

/** Flags for a quiet headless run in a container: no sandbox, no GPU, nothing fetched from the network. */
export const CHROMIUM_FLAGS: string[] = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
