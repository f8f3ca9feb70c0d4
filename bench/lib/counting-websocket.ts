import { WebSocket } from 'ws';

/**
 * A `ws` WebSocket class for the SDK's `WebSocket` option that records the op of every
 * request it sends into `ops`, so a benchmark can print how many requests (and which)
 * a login or a sync took.
 */
export function countingWebSocket(ops: string[]): typeof WebSocket {
  return class CountingWebSocket extends WebSocket {
    override send(data: unknown, ...rest: unknown[]): void {
      ops.push((JSON.parse(String(data)) as { op: string }).op);
      (super.send as (...a: unknown[]) => void)(data, ...rest);
    }
  };
}
