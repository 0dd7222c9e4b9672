import type { StateStore } from '@perpmesh/state';

/** The idempotency-key part of a StateStore, in memory. */
export function keyStore(): StateStore {
  const keys = new Map<string, string>();
  const k = (scope: string, key: string) => `${scope}:${key}`;
  return {
    claimIdempotencyKey: async (scope: string, key: string, value: string) => {
      const existing = keys.get(k(scope, key));
      if (existing !== undefined) return { claimed: false, existingValue: existing };
      keys.set(k(scope, key), value);
      return { claimed: true };
    },
    getIdempotencyKey: async (scope: string, key: string) => keys.get(k(scope, key)),
    updateIdempotencyValue: async (scope: string, key: string, expected: string, value: string) => {
      if (keys.get(k(scope, key)) !== expected) return false;
      keys.set(k(scope, key), value);
      return true;
    },
    releaseIdempotencyKey: async (scope: string, key: string, expected: string) =>
      keys.get(k(scope, key)) === expected && keys.delete(k(scope, key)),
  } as unknown as StateStore;
}
