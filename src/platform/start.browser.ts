/**
 * Browsers: nothing starts at import (no top-level await, which some bundler targets reject, and no request
 * for kernel files before the page has said where they are). Call `ready()`; see `start.ts`.
 * @module
 */
export {};
