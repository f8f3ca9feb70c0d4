import type { IncomingMessage } from 'node:http';

/** The REST body limit, as the WebSocket frame limit. */
export const MAX_REST_BODY_BYTES = 1024 * 1024;
/** An over-limit body is read and dropped up to this size, so the client gets its answer on a healthy connection. */
const MAX_DRAIN_BYTES = 16 * 1024 * 1024;

export type BodyResult =
  | { kind: 'ok'; text: string }
  /** Over the limit. `drained`: the rest was read, the connection can be kept; otherwise close it. */
  | { kind: 'tooLarge'; drained: boolean }
  /** The client went away; there is no one to answer. */
  | { kind: 'aborted' };

/**
 * Reads a request body up to `limit` bytes. Unlike a `for await` loop, an over-limit
 * body does not destroy the socket before the answer is written: the rest is read and
 * dropped (up to 16 MiB), then the caller answers with a FAIL envelope.
 */
export function readRestBody(req: IncomingMessage, limit = MAX_REST_BODY_BYTES): Promise<BodyResult> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > MAX_DRAIN_BYTES) return Promise.resolve({ kind: 'tooLarge', drained: false });
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const settle = (result: BodyResult): void => {
      if (settled) return;
      settled = true;
      resolve(result);
    };
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) {
        chunks.push(chunk);
      } else if (size > MAX_DRAIN_BYTES) {
        chunks.length = 0;
        req.pause();
        settle({ kind: 'tooLarge', drained: false });
      } else {
        chunks.length = 0;
      }
    });
    req.on('end', () => settle(size > limit ? { kind: 'tooLarge', drained: true } : { kind: 'ok', text: Buffer.concat(chunks).toString('utf8') }));
    req.on('close', () => settle({ kind: 'aborted' }));
    req.on('error', () => settle({ kind: 'aborted' }));
  });
}
