/**
 * One Confab node in a process of its own, for tests that must crash a node the way a
 * machine dies (SIGKILL: no close frames, no lease released, no NATS drain), which an
 * in-process `close()` cannot do. Forked by `startNodeProcess` (node-process.ts) with an
 * IPC channel; the options for `startServer` come as JSON in CONFAB_TEST_NODE_OPTIONS.
 *
 * Protocol over IPC: the node sends `{ ready: wsUrl }` once listening (or `{ failed }`),
 * then answers `{ id, op, args }` requests with `{ id, ok, result | error }`. If the
 * test process goes away (the channel closes) the node shuts down, so a failed run
 * leaves no server behind.
 */
import { startServer, type AppSettings, type ServerOptions } from '@confab/server';

type Request =
  | { id: number; op: 'createApp'; args: { name: string } }
  | { id: number; op: 'updateSettings'; args: { sdkAppID: number; patch: Partial<AppSettings> } }
  | { id: number; op: 'close'; args?: undefined };

const send = (message: unknown) => process.send?.(message);

const options = JSON.parse(process.env.CONFAB_TEST_NODE_OPTIONS ?? '{}') as ServerOptions;
let server: Awaited<ReturnType<typeof startServer>>;
try {
  server = await startServer({ port: 0, logLevel: 'silent', ...options });
} catch (err) {
  send({ failed: (err as Error).message });
  process.exit(1);
}

let closing: Promise<void> | undefined;
const shutDown = () => (closing ??= server.close().finally(() => process.exit(0)));
process.on('disconnect', () => void shutDown());
// SIGTERM as the CLI handles it: drain (sessions told to go elsewhere with 4004, requests
// in flight answered), then close; the exit code says whether the drain was clean.
process.once('SIGTERM', () => {
  closing ??= server.drain(Number(process.env.CONFAB_TEST_DRAIN_MS ?? 20_000))
    .then(async (clean) => {
      await server.close();
      process.exit(clean ? 0 : 3);
    });
});

process.on('message', (message) => {
  const request = message as Request;
  void (async () => {
    try {
      let result: unknown;
      if (request.op === 'createApp') result = await server.createApp(request.args);
      else if (request.op === 'updateSettings') result = await server.domain.apps.updateSettings(request.args.sdkAppID, request.args.patch);
      else if (request.op === 'close') {
        send({ id: request.id, ok: true });
        await shutDown();
        return;
      } else throw new Error(`unknown op ${(request as { op: string }).op}`);
      send({ id: request.id, ok: true, result });
    } catch (err) {
      send({ id: request.id, ok: false, error: (err as Error).message });
    }
  })();
});

send({ ready: server.wsUrl, nodeID: server.nodeID });
