/**
 * The raw load-generator client the benchmarks share: a WebSocket that reads replies
 * only for their id and ok flag and hands pushes over as text, so the generator spends
 * as little of the machine as it can (it shares two cores with the server).
 */
import type { ChildProcess } from 'node:child_process';
import WebSocket from 'ws';

export function ask<T>(child: ChildProcess, msg: object, op: string): Promise<T> {
  return new Promise((resolve) => {
    const on = (m: { op: string }) => { if (m.op === op) { child.off('message', on); resolve(m as T); } };
    child.on('message', on);
    child.send(msg);
  });
}

export interface Conn {
  ws: WebSocket;
  call(op: string, body: object): Promise<{ ok: boolean; body: any }>;
  /** Sends a request whose JSON text is already built (cheaper than JSON.stringify per message). */
  callRaw(build: (id: number) => string): Promise<{ ok: boolean; body: any }>;
  /** Like `call`, but hands back the whole reply body even when ok (for paging: `conv.sync`). */
  callFull(op: string, body: object): Promise<{ ok: boolean; body: any }>;
  onPush?: (text: string) => void;
}

export function connect(url: string): Promise<Conn> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    let id = 0;
    const pending = new Map<number, (f: any) => void>();
    const full = new Set<number>();
    const request = (build: (id: number) => string, whole: boolean) => new Promise<{ ok: boolean; body: any }>((r) => {
      if (ws.readyState !== WebSocket.OPEN) return r({ ok: false, body: { closed: true } });
      const i = ++id;
      pending.set(i, r);
      if (whole) full.add(i);
      ws.send(build(i));
    });
    const conn: Conn = {
      ws,
      call: (op, body) => request((i) => JSON.stringify({ id: i, op, body }), false),
      callRaw: (build) => request(build, false),
      callFull: (op, body) => request((i) => JSON.stringify({ id: i, op, body }), true),
    };
    // The generator shares the machine with the server, so it reads frames as cheaply as
    // it can: replies only for their id and ok flag, pushes only when someone listens.
    ws.on('message', (d) => {
      const text = d.toString();
      if (text.startsWith('{"push"')) {
        if (conn.onPush) conn.onPush(text);
        return;
      }
      const m = /^\{"id":(\d+),"ok":(true|false)/.exec(text);
      if (!m) return;
      const id = Number(m[1]);
      const r = pending.get(id);
      pending.delete(id);
      if (full.delete(id)) r?.(JSON.parse(text));
      else r?.(m[2] === 'true' ? { ok: true, body: undefined } : JSON.parse(text));
    });
    // A server that goes away fails what was waiting instead of leaving the benchmark hanging.
    ws.on('close', () => {
      for (const r of pending.values()) r({ ok: false, body: { closed: true } });
      pending.clear();
    });
    ws.on('open', () => resolve(conn));
    ws.on('error', reject);
  });
}

export function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? NaN;
}

