/** Small async helpers shared by the adapters (`sleep` is core's). */

export interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
  reject(err: unknown): void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/**
 * A promise for `closed` handles: rejections are marked handled here (a consumer that ends
 * in error must not crash the process through an unhandled rejection), yet awaiting it
 * still throws.
 */
export function handledPromise(p: Promise<void>): Promise<void> {
  p.catch(() => {});
  return p;
}
