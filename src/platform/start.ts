/**
 * Node: importing warmstart starts the WebAssembly backend (a top-level await), so a script can build and
 * train models at once, as it always could. Browser bundles get `start.browser.ts` instead, which starts
 * nothing: a page calls `ready()` when and with what it chooses.
 * @module
 */
import { ready } from '../kernels/ready.js';

await ready();
