// Calls that share a key run one after another: a second call waits until the first has settled
// and only then runs, so it can find what the first left behind (a memo, a cached file). Used where
// work that used to be sequential now runs at the same time (suites read at once) and must still
// do a shared step once.

/** A runner: `run(key, fn)` starts fn once no earlier call with that key is still running. */
export function serialByKey(): <T>(key: string, fn: () => Promise<T>) => Promise<T> {
  const busy = new Map<string, Promise<void>>();
  return async <T>(key: string, fn: () => Promise<T>): Promise<T> => {
    for (let b = busy.get(key); b; b = busy.get(key)) await b;
    const p = fn();
    const settled = p.then(
      () => undefined,
      () => undefined,
    );
    busy.set(key, settled);
    try {
      return await p;
    } finally {
      if (busy.get(key) === settled) busy.delete(key);
    }
  };
}
