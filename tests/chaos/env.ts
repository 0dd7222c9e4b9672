/** Settings of the chaos entry points, read from the environment. */

/** A whole number from env `name` (unset or empty: `fallback`); anything else is refused, naming it. */
export function intEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw)) throw new Error(`${name} must be a whole number, got ${JSON.stringify(raw)}`);
  return Number(raw);
}
