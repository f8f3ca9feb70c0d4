/**
 * A `msg.send` reply that carries only the message's result, without the sender's
 * `update`: the version step reaches the sending device as a push instead, before or
 * after the reply. The send must succeed either way, the message must not come back as
 * "received", and the list must show it once the push is applied.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { UserUpdate, WireConversation, WireMessage } from '@confab/protocol';
import { V2TIMManager } from '../src/manager/v2tim-manager.js';
import { MemoryStore } from '../src/store/memory-store.js';
import type { WebSocketLike } from '../src/types.js';
import { conv, msg } from './store-conformance.js';

/**
 * A server for one chat that answers login, conv.sync, msg.history and msg.send;
 * `pushFirst` sends msg.send's update before its reply. (The first conv.sync may run after
 * the first send, and then brings the row instead of the push: the history call fetches.)
 */
class ReplyWithoutUpdate implements WebSocketLike {
  static pushFirst = false;
  readyState = 0;
  version = 0;
  row: WireConversation | undefined;
  readonly messages: WireMessage[] = [];
  onopen: ((ev: unknown) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  constructor(readonly url: string) {
    setTimeout(() => {
      this.readyState = 1;
      this.onopen?.({});
    }, 0);
  }
  send(data: string) {
    const { id, op, body } = JSON.parse(data) as { id: number; op: string; body: any };
    if (op === 'login') this.frame({ id, ok: true, body: { userID: 'alice', serverTime: 1, protocolVersion: 1, version: 0, profile: {} } });
    if (op === 'conv.sync') {
      const rows = this.row && this.row.version > body.sinceVersion ? [this.row] : [];
      this.frame({ id, ok: true, body: { conversations: rows, version: this.version, isFinished: true } });
    }
    if (op === 'msg.history') {
      const below = this.messages.filter((m) => m.seq < (body.beforeSeq || Infinity) && m.seq > (body.afterSeq ?? 0));
      this.frame({ id, ok: true, body: { messages: body.afterSeq !== undefined ? below.slice(0, body.count) : below.slice(-body.count), isFinished: true } });
    }
    if (op === 'msg.send') {
      const seq = this.version + 1;
      const message: WireMessage = { ...msg('c2c_bob', seq), sender: 'alice', receiver: 'bob', clientMsgID: body.clientMsgID, elem: body.elem };
      const row = { ...conv('c2c_bob', { lastSeq: seq, readSeq: seq, orderKey: seq, version: seq, lastMessage: message }), deleted: false } as WireConversation;
      const update: UserUpdate = { prevVersion: this.version, version: this.version + 1, conversations: [row], messages: [message] };
      this.version++;
      this.row = row;
      this.messages.push(message);
      const reply = { id, ok: true, body: { message } };
      const push = { push: 'update', body: update };
      for (const f of ReplyWithoutUpdate.pushFirst ? [push, reply] : [reply, push]) this.frame(f);
    }
  }
  close() {}
  frame(f: unknown) {
    setTimeout(() => this.onmessage?.({ data: JSON.stringify(f) }), 0);
  }
}

describe('msg.send reply without an update', () => {
  for (const pushFirst of [false, true]) {
    it(`succeeds and shows the message once the push arrives (${pushFirst ? 'push before reply' : 'reply before push'})`, async () => {
      ReplyWithoutUpdate.pushFirst = pushFirst;
      const im = new V2TIMManager();
      im.initSDK(1400000001, { serverUrl: 'ws://fake', store: new MemoryStore(), WebSocket: ReplyWithoutUpdate, logLevel: 'silent', historyPrefetch: false });
      const received: unknown[] = [];
      im.getMessageManager().addAdvancedMsgListener({ onRecvNewMessage: (m) => received.push(m) });
      await im.login('alice', 'sig');
      for (const text of ['one', 'two']) {
        const sent = await im.sendC2CTextMessage(text, 'bob');
        assert.equal(sent.status, 2);
        assert.equal(sent.textElem?.text, text);
      }
      const deadline = Date.now() + 5000;
      let last: string | undefined;
      while (Date.now() < deadline) {
        last = (await im.getConversationManager().getConversation('c2c_bob')).lastMessage?.textElem?.text;
        if (last === 'two') break;
        await new Promise((r) => setTimeout(r, 10));
      }
      assert.equal(last, 'two');
      const history = await im.getMessageManager().getC2CHistoryMessageList('bob', 10, null);
      assert.deepEqual(history.map((m) => m.textElem?.text), ['two', 'one']);
      assert.deepEqual(received, [], 'own messages are not announced as received');
      await im.logout();
    });
  }
});
