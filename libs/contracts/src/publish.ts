/**
 * Typed publishing of envelopes onto an event log. The log is structural (any object with
 * a byte-level `publish`, e.g. libs/bus's EventLog), so contracts does not depend on the bus.
 * The envelope id travels as the message id: the log de-duplicates on it.
 */
import { encodeEnvelope, subjectFor } from './envelope.js';
import type { Envelope } from './gen/perpmesh/v1/envelope.js';
import { subjects as defaultSubjects, type Subjects } from './subjects.js';

export interface EnvelopeSink {
  publish(msg: { subject: string; id: string; data: Uint8Array }): Promise<unknown>;
}

export function publishEnvelope(
  log: EnvelopeSink,
  envelope: Envelope,
  subjects: Subjects = defaultSubjects,
): Promise<unknown> {
  return log.publish({
    subject: subjectFor(envelope, subjects),
    id: envelope.id,
    data: encodeEnvelope(envelope),
  });
}
