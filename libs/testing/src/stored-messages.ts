/** Small pieces the event-log suites share: a text message to publish, and reading a range into an array. */
import type { OutgoingMessage, StoredMessage } from '@perpmesh/bus';

const enc = new TextEncoder();

/** An outgoing message whose data is `text` (UTF-8). */
export function textMessage(
  subject: string,
  id: string,
  text: string,
  headers?: Record<string, string>,
): OutgoingMessage {
  return { subject, id, data: enc.encode(text), ...(headers ? { headers } : {}) };
}

/** Every message of a bounded read, in order. */
export async function collectStored(it: AsyncIterable<StoredMessage>): Promise<StoredMessage[]> {
  const out: StoredMessage[] = [];
  for await (const m of it) out.push(m);
  return out;
}
