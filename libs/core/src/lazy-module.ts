/**
 * A dependency imported on first use instead of at start-up: `load()` once on the async
 * path that needs it (a `connect`, an `open`), then `get()` synchronously wherever the
 * objects made on that path use it. Start-up then pays only for what the config uses.
 */
export interface LazyModule<T> {
  /** Imports it (once; concurrent callers share the import). */
  load(): Promise<T>;
  /** The module, once a `load()` has finished; throws naming it otherwise. */
  get(): T;
}

export function lazyModule<T>(name: string, importer: () => Promise<T>): LazyModule<T> {
  let loading: Promise<T> | undefined;
  let loaded: T | undefined;
  return {
    load() {
      loading ??= importer().then(
        (module) => {
          loaded = module;
          return module;
        },
        (err: unknown) => {
          loading = undefined; // a failed import may be retried
          throw err;
        },
      );
      return loading;
    },
    get() {
      if (loaded === undefined) throw new Error(`${name} is not loaded yet: await its load() first`);
      return loaded;
    },
  };
}
