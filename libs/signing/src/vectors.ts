/**
 * The shape every signer's known-answer self-test reports in: one result per case, so
 * `perpmesh selftest signers` and the start-up self-test of a signing process print and
 * judge them alike.
 */
export interface VectorCaseResult {
  /** The section of the vectors file (`field`, `poseidon2`, `schnorr`, `orders`, ...). */
  readonly section: string;
  /** The case's name or index inside its section. */
  readonly name: string;
  readonly ok: boolean;
  /** What differed (expected vs got), or why the case could not run. Never a private key. */
  readonly detail?: string;
}
