/**
 * A venue's refusal of a request: the `Reject` a command result carries, and the error
 * the exchange throws inside a command (turned back into a result at the command's edge).
 */
import { PerpmeshError } from '@perpmesh/core';
import type { Reject, RejectCode } from './events.js';

/** A venue's refusal, as an error for callers that prefer throwing (adapters). */
export class VenueRejectError extends PerpmeshError {
  readonly reject: Reject;
  constructor(reject: Reject) {
    super(reject.code.toUpperCase() as Uppercase<RejectCode>, reject.message);
    this.reject = reject;
  }
}

/** The refusal `code` of `field` (named first in the message), as a throwable error. */
export function venueReject(code: RejectCode, field: string | undefined, detail: string): VenueRejectError {
  return new VenueRejectError({
    code,
    ...(field === undefined ? {} : { field }),
    message: field === undefined ? detail : `${field}: ${detail}`,
  });
}
