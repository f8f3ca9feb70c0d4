/** The sans-I/O batch builder, fed hand-written `update` / `conv.sync` frames. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { WireConversation } from '@confab/protocol';
import { buildBatch } from '../src/sync/batch.js';
import type { StoredConversation } from '../src/store/types.js';
import { conv, msg } from './store-conformance.js';

function row(id: string, extra: Partial<WireConversation> = {}): WireConversation {
  return { ...conv(id), deleted: false, ...extra } as WireConversation;
}

describe('buildBatch', () => {
  it('new rows are added, known ones changed, identical ones silent', () => {
    const existing = new Map<string, StoredConversation>([
      ['c2c_bob', { ...conv('c2c_bob', { version: 3 }), deliveredSeq: 0 }],
      ['c2c_carol', { ...conv('c2c_carol', { version: 3 }), deliveredSeq: 0 }],
    ]);
    const built = buildBatch({
      conversations: [row('c2c_bob', { version: 4, unreadCount: 1, lastSeq: 1 }), row('c2c_carol', { version: 3 }), row('c2c_dave', { version: 4 })],
      messages: [msg('c2c_bob', 1)], syncVersion: 4, fresh: false,
    }, existing);
    assert.deepEqual(built.added.map((c) => c.conversationID), ['c2c_dave']);
    assert.deepEqual(built.changed.map((c) => c.conversationID), ['c2c_bob']);
    assert.equal(built.batch.syncVersion, 4);
    assert.equal(built.batch.upsertConversations!.find((c) => c.conversationID === 'c2c_bob')!.deliveredSeq, 1);
    assert.deepEqual(built.messages.map((m) => m.msgID), ['c2c_bob/1']);
    assert.ok(built.batch.upsertConversations!.every((c) => !('deleted' in c)));
  });

  it('a tombstone removes the conversation and its messages in the same batch', () => {
    const existing = new Map([['c2c_bob', conv('c2c_bob', { version: 3 })]]);
    const built = buildBatch({
      conversations: [row('c2c_bob', { version: 5, deleted: true }), row('c2c_ghost', { version: 5, deleted: true })],
      messages: [msg('c2c_bob', 9)], syncVersion: 5, fresh: false,
    }, existing);
    assert.deepEqual(built.removed, ['c2c_bob']); // the unknown one is removed quietly
    assert.deepEqual(built.batch.removeConversations, ['c2c_bob', 'c2c_ghost']);
    assert.deepEqual(built.batch.upsertConversations, []);
    assert.deepEqual(built.batch.putMessages, []);
  });

  it('a raised visibleFromSeq drops cached messages below it and filters incoming ones', () => {
    const existing = new Map([['c2c_bob', conv('c2c_bob', { version: 3, visibleFromSeq: 0, lastSeq: 4 })]]);
    const built = buildBatch({
      conversations: [row('c2c_bob', { version: 4, visibleFromSeq: 5, lastSeq: 6 })],
      messages: [msg('c2c_bob', 4), msg('c2c_bob', 5), msg('c2c_bob', 6)], fresh: false,
    }, existing);
    assert.deepEqual(built.batch.dropMessagesBelow, [{ conversationID: 'c2c_bob', seq: 5 }]);
    assert.deepEqual(built.messages.map((m) => m.seq), [5, 6]);
  });

  it('ignores a row older than the stored one and duplicate messages', () => {
    const existing = new Map([['c2c_bob', conv('c2c_bob', { version: 9, isPinned: true })]]);
    const built = buildBatch({
      conversations: [row('c2c_bob', { version: 8, isPinned: false })],
      messages: [msg('c2c_bob', 2), msg('c2c_bob', 1), msg('c2c_bob', 2)], fresh: false,
    }, existing);
    assert.deepEqual(built.batch.upsertConversations, []);
    assert.deepEqual(built.changed, []);
    assert.deepEqual(built.messages.map((m) => m.seq), [1, 2]);
  });

  it('a fresh device starts delivery at lastSeq (all history); a synced one at the watermark', () => {
    const r = row('c2c_bob', { version: 2, lastSeq: 50, readSeq: 45, visibleFromSeq: 10 });
    const fresh = buildBatch({ conversations: [r], messages: [], fresh: true }, new Map());
    const synced = buildBatch({ conversations: [r], messages: [], fresh: false }, new Map());
    assert.equal(fresh.batch.upsertConversations![0]!.deliveredSeq, 50);
    assert.equal(synced.batch.upsertConversations![0]!.deliveredSeq, 9);
  });
});
