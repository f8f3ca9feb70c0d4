/**
 * The test side of cluster-node.ts: forks a Confab node as a child process, so a test
 * can kill it with SIGKILL like a crashed machine, and talks to it over IPC.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { AppRecord, AppSettings, ServerOptions } from '@confab/server';

export interface NodeProcess {
  readonly nodeID: string;
  readonly wsUrl: string;
  readonly pid: number;
  createApp(name: string): Promise<AppRecord>;
  updateSettings(sdkAppID: number, patch: Partial<AppSettings>): Promise<AppRecord>;
  /** A stop without a drain (`server.close()`): sockets closed with 1001, leases released. */
  close(): Promise<void>;
  /** SIGTERM: the node drains, then exits; resolves with its exit code (0: a clean drain). */
  terminate(): Promise<number | null>;
  /** A crash: SIGKILL, and resolves once the process is gone. */
  kill(): Promise<void>;
  readonly alive: boolean;
}

const SCRIPT = fileURLToPath(new URL('./cluster-node.ts', import.meta.url));

type Reply = { id: number; ok: true; result?: unknown } | { id: number; ok: false; error: string };

/** Starts a node with `options` (JSON-serialisable: no storage or bus objects) and waits until it listens. */
export async function startNodeProcess(options: ServerOptions, guardMs = 30_000): Promise<NodeProcess> {
  const child: ChildProcess = fork(SCRIPT, [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, CONFAB_TEST_NODE_OPTIONS: JSON.stringify(options) },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  let exitCode: number | null = null;
  const exited = new Promise<void>((resolve) => child.once('exit', (code) => { exitCode = code; resolve(); }));
  const pending = new Map<number, { resolve(value: unknown): void; reject(err: Error): void }>();
  let nextID = 1;
  const ready = new Promise<{ wsUrl: string; nodeID: string }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`node did not start within ${guardMs} ms`)), guardMs);
    child.on('message', (raw) => {
      const message = raw as { ready?: string; nodeID?: string; failed?: string } & Partial<Reply>;
      if (message.ready) {
        clearTimeout(timer);
        resolve({ wsUrl: message.ready, nodeID: message.nodeID! });
      } else if (message.failed) {
        clearTimeout(timer);
        reject(new Error(`node failed to start: ${message.failed}`));
      } else if (typeof message.id === 'number') {
        const waiter = pending.get(message.id);
        pending.delete(message.id);
        if (message.ok) waiter?.resolve(message.result);
        else waiter?.reject(new Error((message as { error: string }).error));
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error('node exited before it was ready'));
      for (const waiter of pending.values()) waiter.reject(new Error('node exited'));
      pending.clear();
    });
  });
  let started: { wsUrl: string; nodeID: string };
  try {
    started = await ready;
  } catch (err) {
    child.kill('SIGKILL');
    await exited;
    throw err;
  }
  const alive = () => child.exitCode === null && child.signalCode === null;
  const request = (op: string, args?: unknown) => new Promise<unknown>((resolve, reject) => {
    if (!alive()) return reject(new Error('node is not running'));
    const id = nextID++;
    pending.set(id, { resolve, reject });
    child.send({ id, op, args });
  });
  return {
    nodeID: started.nodeID,
    wsUrl: started.wsUrl,
    pid: child.pid!,
    get alive() {
      return alive();
    },
    createApp: (name) => request('createApp', { name }) as Promise<AppRecord>,
    updateSettings: (sdkAppID, patch) => request('updateSettings', { sdkAppID, patch }) as Promise<AppRecord>,
    async close() {
      if (!alive()) return;
      await request('close').catch(() => undefined);
      await exited;
    },
    async terminate() {
      if (alive()) child.kill('SIGTERM');
      await exited;
      return exitCode;
    },
    async kill() {
      if (alive()) child.kill('SIGKILL');
      await exited;
    },
  };
}
