/**
 * Server children for the benchmarks that seed a large data set: the server runs in a
 * child process pinned to core 0 and the load generator (this process) on core 1, as in
 * `bench/messaging.ts`, so the generator's work does not show up as server latency.
 */
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { cpus } from 'node:os';
import { ask, connect, type Conn } from './raw-client.js';

export const pinned = cpus().length >= 2;

/** Moves this process (the generator) to core 1 when there are two cores or more. */
export function pinGeneratorCore(): void {
  if (pinned) execFileSync('taskset', ['-p', '-c', '1', String(process.pid)], { stdio: 'ignore' });
}

/** Forks `script` with `args`, pinned to core 0; killed when this process exits. */
export function forkServer(script: string, args: string[]): ChildProcess {
  const nodeArgs = ['--import', 'tsx', ...(process.env.BENCH_SERVER_ARGS ?? '').split(' ').filter(Boolean)];
  // `taskset -c 0 node …` keeps the IPC channel: taskset execs node with the same fds.
  const child = pinned
    ? fork(script, args, { execPath: 'taskset', execArgv: ['-c', '0', process.execPath, ...nodeArgs] })
    : fork(script, args, { execArgv: nodeArgs });
  const kill = () => child.kill();
  process.once('exit', kill);
  child.once('exit', () => process.off('exit', kill));
  return child;
}

/** Resolves with the child's first IPC message with this op (a `failed` message rejects). */
export function next<T>(child: ChildProcess, op: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const on = (m: { op: string; error?: string }) => {
      if (m.op === 'failed') { child.off('message', on); reject(new Error(m.error)); }
      if (m.op === op) { child.off('message', on); resolve(m as T); }
    };
    child.on('message', on);
    child.once('exit', (code) => reject(new Error(`server child exited with ${code} while waiting for ${op}`)));
  });
}

/** Waits for a child to end (after it finished its job or was killed). */
export function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
}

/**
 * Logs raw clients in, 100 at a time; the child answers `{ op: 'sigs', users }` with
 * their UserSigs. `deviceID` tells apart a user's devices.
 */
export async function loginRaw(child: ChildProcess, url: string, sdkAppID: number, users: string[], deviceID = 'd'): Promise<Conn[]> {
  const sigs = (await ask<{ sigs: string[] }>(child, { op: 'sigs', users }, 'sigs')).sigs;
  const conns: Conn[] = [];
  for (let i = 0; i < users.length; i += 100) {
    conns.push(...await Promise.all(users.slice(i, i + 100).map(async (u, j) => {
      const c = await connect(url);
      const r = await c.call('login', { sdkAppID, userID: u, userSig: sigs[i + j], deviceID, protocolVersion: 1 });
      if (!r.ok) throw new Error(`login ${u}: ${JSON.stringify(r)}`);
      return c;
    })));
  }
  return conns;
}

/** `c2c:<a>|<b>` with a < b: the storage key of a one-to-one conversation. */
export const c2cKey = (a: string, b: string) => (a < b ? `c2c:${a}|${b}` : `c2c:${b}|${a}`);
