/**
 * One suite for every LocalStore implementation (matrix-rust-sdk's
 * `statestore_integration_tests!` idea). A third-party store passes when this passes:
 *
 * ```ts
 * runStoreConformance('MyStore', async () => new MyStore());
 * ```
 *
 * `makeStore` must return a fresh, empty store each call.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { WireMessage } from '@confab/protocol';
import type { LocalStore, StoredConversation } from '../src/store/types.js';

export function msg(conversationID: string, seq: number, extra: Partial<WireMessage> = {}): WireMessage {
  return {
    msgID: `${conversationID}/${seq}`, conversationID, seq, sender: 'bob', receiver: 'alice',
    clientMsgID: `k${seq}`, timestamp: 1_700_000_000_000 + seq, elem: { type: 'text', text: `m${seq}` }, ...extra,
  };
}

export function conv(conversationID: string, extra: Partial<StoredConversation> = {}): StoredConversation {
  return {
    conversationID, type: conversationID.startsWith('group_') ? 2 : 1,
    ...(conversationID.startsWith('group_') ? { groupID: conversationID.slice(6) } : { userID: conversationID.slice(4) }),
    lastSeq: 0, lastMessage: null, unreadCount: 0, readSeq: 0, visibleFromSeq: 0, orderKey: 1,
    isPinned: false, draftText: '', draftTimestamp: 0, customData: '', markList: [], version: 1, ...extra,
  };
}

const seqs = (ms: WireMessage[]) => ms.map((m) => m.seq);
const APP = { sdkAppID: 1400000001, userID: 'alice' };

export function runStoreConformance(name: string, makeStore: () => Promise<LocalStore> | LocalStore): void {
  describe(`LocalStore conformance: ${name}`, () => {
    async function opened(scope = APP): Promise<LocalStore> {
      const store = await makeStore();
      await store.open(scope);
      return store;
    }

    it('stores and reads meta values', async () => {
      const store = await opened();
      assert.equal(await store.getMeta('syncVersion'), undefined);
      await store.setMeta('deviceID', 'dev-1');
      await store.apply({ syncVersion: 7 });
      assert.equal(await store.getMeta('deviceID'), 'dev-1');
      assert.equal(await store.getMeta('syncVersion'), '7');
      await store.close();
    });

    it('keeps scopes apart: another user or another app sees nothing', async () => {
      const store = await opened();
      await store.apply({ upsertConversations: [conv('c2c_bob')], putMessages: [msg('c2c_bob', 1)], syncVersion: 3 });
      await store.setMeta('deviceID', 'alice-dev');
      for (const other of [{ sdkAppID: APP.sdkAppID, userID: 'carol' }, { sdkAppID: 1400000002, userID: 'alice' }]) {
        await store.open(other);
        assert.deepEqual(await store.listConversations(), []);
        assert.deepEqual(await store.getMessages('c2c_bob', { limit: 10 }), []);
        assert.deepEqual(await store.getMessagesByID(['c2c_bob/1']), []);
        assert.equal(await store.getMeta('syncVersion'), undefined);
        assert.equal(await store.getMeta('deviceID'), undefined);
      }
      await store.open(APP);
      assert.equal((await store.listConversations()).length, 1);
      assert.equal(await store.getMeta('deviceID'), 'alice-dev');
      await store.close();
    });

    it('upserts and removes conversations; removing drops their messages', async () => {
      const store = await opened();
      await store.apply({ upsertConversations: [conv('c2c_bob'), conv('group_g1', { unreadCount: 2 })] });
      await store.apply({ upsertConversations: [conv('c2c_bob', { isPinned: true, deliveredSeq: 4 })], putMessages: [msg('c2c_bob', 1)] });
      const bob = await store.getConversation('c2c_bob');
      assert.equal(bob?.isPinned, true);
      assert.equal(bob?.deliveredSeq, 4);
      assert.equal((await store.listConversations()).length, 2);
      await store.apply({ removeConversations: ['c2c_bob'] });
      assert.equal(await store.getConversation('c2c_bob'), undefined);
      assert.deepEqual(await store.getMessages('c2c_bob', { limit: 10 }), []);
      assert.deepEqual(await store.getMessagesByID(['c2c_bob/1']), []);
      assert.deepEqual((await store.listConversations()).map((c) => c.conversationID), ['group_g1']);
      await store.close();
    });

    it('clearMessages keeps the row', async () => {
      const store = await opened();
      await store.apply({ upsertConversations: [conv('c2c_bob')], putMessages: [msg('c2c_bob', 1), msg('c2c_bob', 2)] });
      await store.apply({ clearMessages: ['c2c_bob'] });
      assert.ok(await store.getConversation('c2c_bob'));
      assert.deepEqual(await store.getMessages('c2c_bob', { limit: 10 }), []);
      await store.close();
    });

    it('returns messages in ascending seq order, paged newest-first by beforeSeq or oldest-first by afterSeq', async () => {
      const store = await opened();
      await store.apply({ putMessages: [5, 1, 3, 2, 4].map((s) => msg('c2c_bob', s)) });
      assert.deepEqual(seqs(await store.getMessages('c2c_bob', { limit: 10 })), [1, 2, 3, 4, 5]);
      assert.deepEqual(seqs(await store.getMessages('c2c_bob', { limit: 2 })), [4, 5]);
      assert.deepEqual(seqs(await store.getMessages('c2c_bob', { beforeSeq: 4, limit: 2 })), [2, 3]);
      assert.deepEqual(seqs(await store.getMessages('c2c_bob', { afterSeq: 2, limit: 2 })), [3, 4]);
      assert.deepEqual(seqs(await store.getMessages('c2c_bob', { afterSeq: 5, limit: 2 })), []);
      assert.deepEqual(await store.getMessages('c2c_bob', { limit: 0 }), []);
      await store.close();
    });

    it('dedupes messages by msgID and by (conversation, seq)', async () => {
      const store = await opened();
      await store.apply({ putMessages: [msg('c2c_bob', 1), msg('c2c_bob', 1, { elem: { type: 'text', text: 'again' } })] });
      await store.apply({ putMessages: [msg('c2c_bob', 1, { elem: { type: 'text', text: 'third' } })] });
      let all = await store.getMessages('c2c_bob', { limit: 10 });
      assert.equal(all.length, 1);
      assert.deepEqual(all[0]!.elem, { type: 'text', text: 'third' });
      // Same seq, different msgID: the newer copy replaces the old one entirely.
      await store.apply({ putMessages: [msg('c2c_bob', 1, { msgID: 'other-id' })] });
      all = await store.getMessages('c2c_bob', { limit: 10 });
      assert.deepEqual(all.map((m) => m.msgID), ['other-id']);
      assert.deepEqual(await store.getMessagesByID(['c2c_bob/1']), []);
      assert.equal((await store.getMessagesByID(['other-id', 'other-id', 'missing'])).length, 1);
      await store.close();
    });

    it('drops messages below a watermark, only in that conversation', async () => {
      const store = await opened();
      await store.apply({ putMessages: [1, 2, 3, 4].map((s) => msg('c2c_bob', s)).concat([msg('c2c_carol', 1)]) });
      await store.apply({ dropMessagesBelow: [{ conversationID: 'c2c_bob', seq: 3 }] });
      assert.deepEqual(seqs(await store.getMessages('c2c_bob', { limit: 10 })), [3, 4]);
      assert.deepEqual(await store.getMessagesByID(['c2c_bob/1', 'c2c_bob/2']), []);
      assert.deepEqual(seqs(await store.getMessages('c2c_carol', { limit: 10 })), [1]);
      await store.close();
    });

    it('applies the parts of a batch in the documented order', async () => {
      const store = await opened();
      await store.apply({ upsertConversations: [conv('c2c_bob')], putMessages: [msg('c2c_bob', 1)] });
      // Remove, then re-create with new messages, in one batch: the new ones survive.
      await store.apply({
        removeConversations: ['c2c_bob'], upsertConversations: [conv('c2c_bob', { version: 2 })],
        putMessages: [msg('c2c_bob', 5), msg('c2c_bob', 6)], dropMessagesBelow: [{ conversationID: 'c2c_bob', seq: 6 }],
      });
      assert.equal((await store.getConversation('c2c_bob'))?.version, 2);
      assert.deepEqual(seqs(await store.getMessages('c2c_bob', { limit: 10 })), [6]);
      await store.close();
    });

    it('a batch with one invalid item changes nothing', async () => {
      const store = await opened();
      await store.apply({ upsertConversations: [conv('c2c_bob')], putMessages: [msg('c2c_bob', 1)], syncVersion: 1 });
      const bad = [
        { putMessages: [msg('c2c_bob', 2), { ...msg('c2c_bob', 3), seq: -1 }] },
        { putMessages: [msg('c2c_bob', 2), { ...msg('c2c_bob', 3), conversationID: 'nope' }] },
        { upsertConversations: [conv('c2c_carol'), { ...conv('c2c_dave'), unreadCount: -1 }] },
        { removeConversations: ['c2c_bob', 'bad id'] },
        { dropMessagesBelow: [{ conversationID: 'c2c_bob', seq: 5 }, { conversationID: 'c2c_bob', seq: Number.NaN }] },
        { syncVersion: -3, putMessages: [msg('c2c_bob', 2)] },
      ];
      for (const batch of bad) {
        await assert.rejects(store.apply({ ...batch, syncVersion: batch.syncVersion ?? 99 }), { name: 'ConfabError', code: 6017 });
      }
      assert.equal(await store.getMeta('syncVersion'), '1');
      assert.deepEqual((await store.listConversations()).map((c) => c.conversationID), ['c2c_bob']);
      assert.deepEqual(seqs(await store.getMessages('c2c_bob', { limit: 10 })), [1]);
      await store.close();
    });

    it('returns copies: mutating a result does not change the store', async () => {
      const store = await opened();
      await store.apply({ upsertConversations: [conv('c2c_bob')], putMessages: [msg('c2c_bob', 1)] });
      (await store.getConversation('c2c_bob'))!.unreadCount = 99;
      (await store.getMessages('c2c_bob', { limit: 1 }))[0]!.seq = 42;
      assert.equal((await store.getConversation('c2c_bob'))!.unreadCount, 0);
      assert.equal((await store.getMessages('c2c_bob', { limit: 1 }))[0]!.seq, 1);
      await store.close();
    });

    it('fails with 6019 when used before open', async () => {
      const store = await makeStore();
      await assert.rejects(store.listConversations(), { code: 6019 });
      await assert.rejects(store.apply({ syncVersion: 1 }), { code: 6019 });
    });
  });
}
