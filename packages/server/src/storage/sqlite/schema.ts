import { createHash } from 'node:crypto';
import type Database from 'better-sqlite3';

/**
 * `confab_msg_key(clientMsgID)`: the first 16 bytes of its SHA-256, what the index
 * finding a resend holds instead of the ID. Registered on every connection before the
 * migrations run; a tool that opens the file without it can read it but not write
 * messages or VACUUM it (SQLite needs the function to maintain the index).
 */
export function registerMessageKey(db: Database.Database): void {
  db.function('confab_msg_key', { deterministic: true }, (id: unknown) =>
    createHash('sha256').update(String(id)).digest().subarray(0, 16));
}

/**
 * Schema migrations, applied in order inside one transaction each. `user_version`
 * records how many ran. Append new steps; never edit a released one.
 *
 * Keys: `conv_key` is the server's own conversation key — `c2c:<a>|<b>` with a < b, so
 * both sides share one message sequence, or `group:<groupID>`. `conversation_id` is the
 * reference-style ID as the row's owner sees it (`c2c_<peer>`).
 */
const MIGRATIONS: string[] = [
  `
  CREATE TABLE apps (
    sdk_app_id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    secret_key TEXT NOT NULL,
    admin_user_id TEXT NOT NULL,
    settings TEXT NOT NULL,
    created_at INTEGER NOT NULL
  );
  CREATE TABLE accounts (
    app_id INTEGER NOT NULL,
    user_id TEXT NOT NULL,
    nick_name TEXT NOT NULL DEFAULT '',
    face_url TEXT NOT NULL DEFAULT '',
    self_signature TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    sync_version INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (app_id, user_id)
  ) WITHOUT ROWID;
  CREATE TABLE friends (
    app_id INTEGER NOT NULL,
    user_id TEXT NOT NULL,
    friend_id TEXT NOT NULL,
    remark TEXT NOT NULL DEFAULT '',
    added_at INTEGER NOT NULL,
    PRIMARY KEY (app_id, user_id, friend_id)
  ) WITHOUT ROWID;
  CREATE TABLE groups (
    app_id INTEGER NOT NULL,
    group_id TEXT NOT NULL,
    group_type TEXT NOT NULL,
    group_name TEXT NOT NULL,
    face_url TEXT NOT NULL DEFAULT '',
    introduction TEXT NOT NULL DEFAULT '',
    notification TEXT NOT NULL DEFAULT '',
    owner TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    dismissed_at INTEGER,
    PRIMARY KEY (app_id, group_id)
  ) WITHOUT ROWID;
  CREATE TABLE group_members (
    app_id INTEGER NOT NULL,
    group_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    role INTEGER NOT NULL,
    joined_at INTEGER NOT NULL,
    left_at INTEGER,
    PRIMARY KEY (app_id, group_id, user_id)
  ) WITHOUT ROWID;
  CREATE INDEX group_members_by_user ON group_members (app_id, user_id) WHERE left_at IS NULL;
  CREATE TABLE conversations (
    app_id INTEGER NOT NULL,
    conv_key TEXT NOT NULL,
    last_seq INTEGER NOT NULL,
    PRIMARY KEY (app_id, conv_key)
  ) WITHOUT ROWID;
  CREATE TABLE messages (
    app_id INTEGER NOT NULL,
    conv_key TEXT NOT NULL,
    seq INTEGER NOT NULL,
    sender TEXT NOT NULL,
    client_msg_id TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    elem TEXT NOT NULL,
    PRIMARY KEY (app_id, conv_key, seq)
  ) WITHOUT ROWID;
  CREATE UNIQUE INDEX messages_by_client_id ON messages (app_id, conv_key, sender, client_msg_id);
  CREATE TABLE user_conversations (
    app_id INTEGER NOT NULL,
    user_id TEXT NOT NULL,
    conv_key TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    last_seq INTEGER NOT NULL DEFAULT 0,
    unread_count INTEGER NOT NULL DEFAULT 0,
    read_seq INTEGER NOT NULL DEFAULT 0,
    visible_from_seq INTEGER NOT NULL DEFAULT 1,
    order_key INTEGER NOT NULL DEFAULT 0,
    is_pinned INTEGER NOT NULL DEFAULT 0,
    draft_text TEXT NOT NULL DEFAULT '',
    draft_ts INTEGER NOT NULL DEFAULT 0,
    custom_data TEXT NOT NULL DEFAULT '',
    deleted INTEGER NOT NULL DEFAULT 0,
    version INTEGER NOT NULL,
    PRIMARY KEY (app_id, user_id, conv_key)
  ) WITHOUT ROWID;
  CREATE INDEX user_conversations_by_version ON user_conversations (app_id, user_id, version);
  CREATE INDEX user_conversations_by_conv ON user_conversations (app_id, conv_key);
  `,
  `
  ALTER TABLE conversations ADD COLUMN purged_below_seq INTEGER NOT NULL DEFAULT 1;
  CREATE TABLE deletions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    app_id INTEGER NOT NULL,
    user_id TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    conv_key TEXT NOT NULL,
    device_id TEXT NOT NULL,
    mode TEXT NOT NULL,
    watermark_seq INTEGER,
    created_at INTEGER NOT NULL,
    purged_at INTEGER
  );
  CREATE INDEX deletions_pending ON deletions (app_id, conv_key) WHERE purged_at IS NULL;
  CREATE INDEX deletions_by_user ON deletions (app_id, user_id, id);
  CREATE TABLE purge_queue (
    app_id INTEGER NOT NULL,
    conv_key TEXT NOT NULL,
    queued_at INTEGER NOT NULL,
    PRIMARY KEY (app_id, conv_key)
  ) WITHOUT ROWID;
  `,
  `
  ALTER TABLE deletions ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE deletions ADD COLUMN undo_until INTEGER;
  ALTER TABLE deletions ADD COLUMN undo_snapshot TEXT;
  ALTER TABLE deletions ADD COLUMN undone_at INTEGER;
  CREATE INDEX deletions_by_conversation ON deletions (app_id, user_id, conv_key, id);
  ALTER TABLE purge_queue ADD COLUMN not_before INTEGER NOT NULL DEFAULT 0;
  CREATE TABLE devices (
    app_id INTEGER NOT NULL,
    user_id TEXT NOT NULL,
    device_id TEXT NOT NULL,
    platform TEXT NOT NULL,
    capabilities TEXT NOT NULL,
    protocol_version INTEGER NOT NULL,
    first_seen INTEGER NOT NULL,
    last_seen INTEGER NOT NULL,
    acked_version INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (app_id, user_id, device_id)
  ) WITHOUT ROWID;
  `,
  `
  CREATE TABLE leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_at INTEGER NOT NULL
  ) WITHOUT ROWID;
  `,
  `
  CREATE TABLE deletion_requests (
    app_id INTEGER NOT NULL,
    user_id TEXT NOT NULL,
    request_id TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (app_id, user_id, request_id)
  ) WITHOUT ROWID;
  `,
  `
  ALTER TABLE user_conversations ADD COLUMN marks TEXT NOT NULL DEFAULT '[]';
  `,
  // The conversation list read by index (see ../list-order.ts). conv.sync needs no new
  // index here: user_conversations_by_version ends with the primary key, so it is
  // already (app_id, user_id, version, conv_key).
  `
  ALTER TABLE user_conversations ADD COLUMN order_tie INTEGER NOT NULL DEFAULT 0;
  UPDATE user_conversations SET order_tie = r.n
    FROM (SELECT app_id, user_id, conv_key, row_number() OVER (PARTITION BY app_id, user_id ORDER BY conv_key DESC) AS n
          FROM user_conversations) AS r
    WHERE user_conversations.app_id = r.app_id AND user_conversations.user_id = r.user_id AND user_conversations.conv_key = r.conv_key;
  CREATE INDEX user_conversations_live ON user_conversations (app_id, user_id, is_pinned, order_key, order_tie)
    WHERE deleted = 0;
  CREATE INDEX user_conversations_live_nonempty ON user_conversations (app_id, user_id, is_pinned, order_key, order_tie)
    WHERE deleted = 0 AND last_seq >= max(1, visible_from_seq);
  `,
  // Group fan-out off the writer: a membership records the group's last seq when it
  // ended (who was a member at a message's commit), and the queue holds each group's
  // messages not yet applied to every member's row: from_seq..to_seq, with the pass in
  // progress (up to pass_to, members after cursor).
  `
  ALTER TABLE group_members ADD COLUMN left_seq INTEGER;
  CREATE TABLE fanout_queue (
    app_id INTEGER NOT NULL,
    conv_key TEXT NOT NULL,
    from_seq INTEGER NOT NULL,
    to_seq INTEGER NOT NULL,
    pass_to INTEGER NOT NULL DEFAULT 0,
    cursor TEXT NOT NULL DEFAULT '',
    queued_at INTEGER NOT NULL,
    PRIMARY KEY (app_id, conv_key)
  ) WITHOUT ROWID;
  CREATE INDEX fanout_queue_by_age ON fanout_queue (queued_at);
  `,
  // Bounded group reads: a member's place in the join order (kept across leave and rejoin)
  // pages the member list by index; the member count is kept on the group row instead of
  // counted per read; and the purge finds a conversation's lowest watermark with one
  // index seek instead of reading every participant's row.
  `
  ALTER TABLE groups ADD COLUMN member_count INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE groups ADD COLUMN last_member_seq INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE group_members ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;
  UPDATE group_members SET seq = r.n
    FROM (SELECT app_id, group_id, user_id, row_number() OVER (PARTITION BY app_id, group_id ORDER BY role DESC, joined_at, user_id) AS n
          FROM group_members) AS r
    WHERE group_members.app_id = r.app_id AND group_members.group_id = r.group_id AND group_members.user_id = r.user_id;
  UPDATE groups SET
    member_count = (SELECT count(*) FROM group_members m WHERE m.app_id = groups.app_id AND m.group_id = groups.group_id AND m.left_at IS NULL),
    last_member_seq = (SELECT coalesce(max(seq), 0) FROM group_members m WHERE m.app_id = groups.app_id AND m.group_id = groups.group_id);
  CREATE INDEX group_members_by_seq ON group_members (app_id, group_id, seq) WHERE left_at IS NULL;
  CREATE INDEX user_conversations_by_watermark ON user_conversations (app_id, conv_key, visible_from_seq);
  DROP INDEX user_conversations_by_conv;
  `,
  // Fencing tokens for leases; what the purge erased, so a late resend of an erased
  // message is refused (../purged-sends.ts); who is online on which node (PresenceStore).
  `
  ALTER TABLE leases ADD COLUMN token INTEGER NOT NULL DEFAULT 0;
  CREATE TABLE purged_sends (
    app_id INTEGER NOT NULL,
    conv_key TEXT NOT NULL,
    sender TEXT NOT NULL,
    send_key TEXT NOT NULL,
    purged_at INTEGER NOT NULL,
    PRIMARY KEY (app_id, conv_key, sender, send_key)
  ) WITHOUT ROWID;
  CREATE INDEX purged_sends_by_time ON purged_sends (purged_at);
  CREATE TABLE presence (
    app_id INTEGER NOT NULL,
    user_id TEXT NOT NULL,
    session_id TEXT NOT NULL,
    node TEXT NOT NULL,
    device_id TEXT NOT NULL,
    capabilities TEXT NOT NULL,
    protocol_version INTEGER NOT NULL,
    since INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (app_id, user_id, session_id)
  ) WITHOUT ROWID;
  CREATE INDEX presence_by_node ON presence (node);
  CREATE INDEX presence_by_expiry ON presence (expires_at);
  `,
  // What a message carries besides its element (MessageExtra: sender profile, cloud
  // custom data, priority, offline push info), and history read by time with one seek.
  `
  ALTER TABLE messages ADD COLUMN extra TEXT;
  CREATE INDEX messages_by_time ON messages (app_id, conv_key, created_at, seq);
  `,
  // Erasure (docs/deletion.md, "What is erased where"): the index that finds a resend by
  // its clientMsgID holds a hash of it (confab_msg_key, registered by sqlite-storage.ts),
  // not the ID itself; and each deletion records when the bytes of its purged rows left
  // the files (erased_at), apart from when the rows were deleted (purged_at).
  `
  CREATE UNIQUE INDEX messages_by_client_key ON messages (app_id, conv_key, sender, confab_msg_key(client_msg_id));
  DROP INDEX messages_by_client_id;
  ALTER TABLE deletions ADD COLUMN erased_at INTEGER;
  CREATE INDEX deletions_unerased ON deletions (purged_at) WHERE purged_at IS NOT NULL AND erased_at IS NULL;
  `,
  // Recalls, modifications and per-user message deletions (../message-mutations.ts):
  // a change counter per conversation, recorded on each changed message and on each
  // participant's row; what each user deleted; the queue that takes a group's changes
  // to its members' rows.
  `
  ALTER TABLE messages ADD COLUMN change_seq INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE messages ADD COLUMN modify_version INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE messages ADD COLUMN revoker TEXT;
  ALTER TABLE messages ADD COLUMN revoke_reason TEXT;
  CREATE INDEX messages_by_change ON messages (app_id, conv_key, change_seq) WHERE change_seq > 0;
  ALTER TABLE conversations ADD COLUMN change_seq INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE user_conversations ADD COLUMN change_seq INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE user_conversations ADD COLUMN delete_seq INTEGER NOT NULL DEFAULT 0;
  CREATE TABLE deleted_messages (
    app_id INTEGER NOT NULL,
    user_id TEXT NOT NULL,
    conv_key TEXT NOT NULL,
    seq INTEGER NOT NULL,
    delete_seq INTEGER NOT NULL,
    deleted_at INTEGER NOT NULL,
    PRIMARY KEY (app_id, user_id, conv_key, seq)
  ) WITHOUT ROWID;
  CREATE INDEX deleted_messages_by_delete_seq ON deleted_messages (app_id, user_id, conv_key, delete_seq);
  CREATE TABLE change_queue (
    app_id INTEGER NOT NULL,
    conv_key TEXT NOT NULL,
    change_to INTEGER NOT NULL,
    cursor TEXT NOT NULL DEFAULT '',
    queued_at INTEGER NOT NULL,
    PRIMARY KEY (app_id, conv_key)
  ) WITHOUT ROWID;
  `,
];

/**
 * The schema version this build writes: migration N is `MIGRATIONS[N - 1]`, and the
 * database records the highest N applied (`PRAGMA user_version`).
 */
export const SQLITE_SCHEMA_VERSION = MIGRATIONS.length;

export function migrate(db: Database.Database, filename = 'the database'): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  // A database a newer release migrated has tables this build does not know how to keep
  // consistent (a downgrade after an upgrade): refuse it rather than write beside them.
  if (current > MIGRATIONS.length) {
    throw new Error(`${filename} has schema version ${current}, newer than this Confab's ${MIGRATIONS.length}: `
      + 'it was written by a newer release; run that release (or a later one) on it');
  }
  for (let i = current; i < MIGRATIONS.length; i++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[i]!);
      db.pragma(`user_version = ${i + 1}`);
    })();
  }
}
