/**
 * Stand-ins for Node's `Buffer` and `process` in the browser bundle, injected by the build (esbuild
 * `inject`) only while `pool.ts` still uses them (see KNOWN_NODE_LEAKS in browser-bundle.ts): enough for it
 * to load (a `typeof process` check); anything more throws a message naming the missing feature. The test
 * of the bundle proves no other module uses them.
 * @module
 */
const unavailable = (what: string) => (): never => {
  throw new Error(
    `warmstart: ${what} is not available in a browser yet: helper threads come with the second half of ` +
      'issue #9',
  );
};

const bufferBase = {
  from: (value: ArrayLike<number> | Iterable<number>) => Uint8Array.from(value as ArrayLike<number>),
  isBuffer: () => false,
};

/** `Buffer.from(bytes)` makes a Uint8Array; every other use throws. */
export const Buffer = new Proxy(bufferBase, {
  get: (target, key) =>
    key in target ? target[key as keyof typeof target] : unavailable(`Buffer.${String(key)}`),
});

/** No environment, no Node version: code that checks for Node finds none. */
export const process = new Proxy(
  { env: {}, versions: {} as Record<string, string> },
  {
    get: (target, key) =>
      key in target ? target[key as keyof typeof target] : unavailable(`process.${String(key)}`),
  },
);
