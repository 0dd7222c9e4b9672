/**
 * One attempt of an Extended websocket stream (`{wsUrl}/orderbooks/{m}`, `/account`, ...),
 * for a ReconnectingStream: one connection per stream path, JSON frames each carrying a
 * per-connection `seq` that counts up by one. A gap in `seq` means a lost frame: the
 * attempt ends and the stream re-subscribes (a book starts again from a new snapshot).
 */
import { errorText, lazyModule } from '@perpmesh/core';
import type { StreamAttempt, StreamAttemptSink } from '../shared/reconnecting-stream.js';
import { EXTENDED_USER_AGENT } from './http.js';
import type { PayloadRow } from './parse.js';

/** `ws`, loaded by the port's `open()` (a start without an Extended venue never loads it). */
const ws = lazyModule('ws', () => import('ws'));

export async function loadExtendedWebSocket(): Promise<void> {
  await ws.load();
}

export function extendedStreamAttempt(
  url: string,
  apiKey: string | undefined,
  sink: StreamAttemptSink<PayloadRow>,
): StreamAttempt {
  const headers: Record<string, string> = { 'User-Agent': EXTENDED_USER_AGENT };
  if (apiKey !== undefined) headers['X-Api-Key'] = apiKey;
  const socket = new (ws.get().default)(url, { headers, handshakeTimeout: 10_000 });
  let lastSeq: number | undefined;
  let over = false;
  const end = (why: string, error?: Error) => {
    if (over) return;
    over = true;
    socket.terminate();
    sink.ended(why, error);
  };
  socket.on('open', () => sink.subscribed());
  socket.on('message', (raw) => {
    let frame: PayloadRow;
    try {
      frame = JSON.parse(String(raw)) as PayloadRow;
    } catch (err) {
      return end(`unreadable frame: ${errorText(err)}`, err as Error);
    }
    const seq = Number(frame.seq);
    if (Number.isSafeInteger(seq)) {
      if (lastSeq !== undefined && seq !== lastSeq + 1) {
        return end(`sequence gap (seq ${seq} after ${lastSeq}): re-subscribing for a fresh snapshot`);
      }
      lastSeq = seq;
    }
    sink.data(frame);
  });
  socket.on('unexpected-response', (_req, res) =>
    end(`the venue refused the stream (HTTP ${res.statusCode})`, new Error(`HTTP ${res.statusCode}`)),
  );
  socket.on('error', (err) => end(`connection failed: ${errorText(err)}`, err));
  socket.on('close', (code, reason) =>
    end(`connection closed (${code}${reason.length > 0 ? `: ${String(reason)}` : ''})`),
  );
  return {
    cancel: () => {
      over = true;
      socket.terminate();
    },
  };
}
