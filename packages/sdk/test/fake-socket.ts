/**
 * A scripted WebSocket for connection tests: it opens, answers and drops only when the
 * test says so — exact control over when a socket dies relative to a request, which a
 * real server cannot be told to do deterministically.
 */
import type { WebSocketLike } from '../src/types.js';

export class FakeSocket implements WebSocketLike {
  /** Every socket made since the test last reset it, in order. */
  static all: FakeSocket[] = [];
  readyState = 0;
  sent: { id: number; op: string; body: unknown }[] = [];
  onopen: ((ev: unknown) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  constructor(readonly url: string) {
    FakeSocket.all.push(this);
  }
  send(data: string) {
    this.sent.push(JSON.parse(data));
  }
  close() {}
  open() {
    this.readyState = 1;
    this.onopen?.({});
  }
  reply(id: number, body: unknown) {
    this.onmessage?.({ data: JSON.stringify({ id, ok: true, body }) });
  }
  fail(id: number, code: number, desc: string) {
    this.onmessage?.({ data: JSON.stringify({ id, ok: false, code, desc }) });
  }
  push(push: string, body: unknown) {
    this.onmessage?.({ data: JSON.stringify({ push, body }) });
  }
  drop() {
    this.onclose?.({ code: 1006, reason: '' });
  }
  last(op: string) {
    return [...this.sent].reverse().find((f) => f.op === op)!;
  }
  /** Answers the latest login as a server with nothing for alice would. */
  loginOK() {
    this.reply(this.last('login').id, { userID: 'alice', serverTime: 1, protocolVersion: 1, version: 0, profile: {} });
  }
}
