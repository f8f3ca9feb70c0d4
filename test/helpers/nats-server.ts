/**
 * A private nats-server on a port of its own, which a test may kill and start again
 * without disturbing anyone else's NATS. The binary is /usr/sbin/nats-server or
 * CONFAB_TEST_NATS_SERVER; `noNatsServer` says why tests needing it are skipped.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, connect as tcpConnect } from 'node:net';
import { waitFor } from './sdk-harness.js';

export const NATS_SERVER = process.env.CONFAB_TEST_NATS_SERVER ?? '/usr/sbin/nats-server';
export const noNatsServer = existsSync(NATS_SERVER)
  ? undefined
  : `no NATS server binary at ${NATS_SERVER}; install nats-server or set CONFAB_TEST_NATS_SERVER`;

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

/** Resolves once something accepts TCP connections on the port. */
async function listening(port: number, guardMs: number): Promise<void> {
  await waitFor(() => new Promise<boolean>((resolve) => {
    const socket = tcpConnect(port, '127.0.0.1');
    socket.once('connect', () => { socket.destroy(); resolve(true); });
    socket.once('error', () => resolve(false));
  }), `nats-server listening on ${port}`, guardMs);
}

export interface NatsServer {
  /** Kills it (SIGKILL) and waits for its exit. */
  stop(): Promise<void>;
  /** How many clients are connected now (from the monitoring port; needs `monitorPort`). */
  connections(): Promise<number>;
}

/** Starts nats-server on `port` (and its HTTP monitoring on `monitorPort`, if given). */
export async function natsServer(port: number, opts: { monitorPort?: number; guardMs?: number } = {}): Promise<NatsServer> {
  const args = ['-a', '127.0.0.1', '-p', String(port)];
  if (opts.monitorPort) args.push('-m', String(opts.monitorPort));
  const child: ChildProcess = spawn(NATS_SERVER, args, { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await listening(port, opts.guardMs ?? 15_000);
  if (opts.monitorPort) await listening(opts.monitorPort, opts.guardMs ?? 15_000);
  return {
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
    async connections() {
      if (!opts.monitorPort) throw new Error('nats-server was started without a monitoring port');
      const res = await fetch(`http://127.0.0.1:${opts.monitorPort}/connz`);
      return ((await res.json()) as { num_connections: number }).num_connections;
    },
  };
}
