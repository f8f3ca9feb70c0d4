import type pg from 'pg';
import { quoteIdent } from './tx.js';

/**
 * Schema migrations, applied in order, one transaction each; `schema_migrations`
 * records which ran. Append new steps; never edit a released one.
 *
 * Same tables and keys as the SQLite backend (see `../sqlite/schema.ts`; its first three
 * steps are this first step, its fourth this second). Seqs, versions
 * and times are bigint (parsed to JS numbers by the pool). Text keys use the "C"
 * collation: byte order, as in SQLite, whatever the database's locale, so ORDER BY and
 * the lock order of concurrent writers are the same on every node.
 */
const MIGRATIONS: string[] = [
  `
  CREATE TABLE apps (
    sdk_app_id bigint PRIMARY KEY,
    name text NOT NULL,
    secret_key text NOT NULL,
    admin_user_id text NOT NULL,
    settings text NOT NULL,
    created_at bigint NOT NULL
  );
  CREATE TABLE accounts (
    app_id bigint NOT NULL,
    user_id text COLLATE "C" NOT NULL,
    nick_name text NOT NULL DEFAULT '',
    face_url text NOT NULL DEFAULT '',
    self_signature text NOT NULL DEFAULT '',
    created_at bigint NOT NULL,
    sync_version bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (app_id, user_id)
  );
  CREATE TABLE friends (
    app_id bigint NOT NULL,
    user_id text COLLATE "C" NOT NULL,
    friend_id text COLLATE "C" NOT NULL,
    remark text NOT NULL DEFAULT '',
    added_at bigint NOT NULL,
    PRIMARY KEY (app_id, user_id, friend_id)
  );
  CREATE TABLE groups (
    app_id bigint NOT NULL,
    group_id text COLLATE "C" NOT NULL,
    group_type text NOT NULL,
    group_name text NOT NULL,
    face_url text NOT NULL DEFAULT '',
    introduction text NOT NULL DEFAULT '',
    notification text NOT NULL DEFAULT '',
    owner text COLLATE "C" NOT NULL,
    created_at bigint NOT NULL,
    dismissed_at bigint,
    PRIMARY KEY (app_id, group_id)
  );
  CREATE TABLE group_members (
    app_id bigint NOT NULL,
    group_id text COLLATE "C" NOT NULL,
    user_id text COLLATE "C" NOT NULL,
    role integer NOT NULL,
    joined_at bigint NOT NULL,
    left_at bigint,
    PRIMARY KEY (app_id, group_id, user_id)
  );
  CREATE INDEX group_members_by_user ON group_members (app_id, user_id) WHERE left_at IS NULL;
  CREATE TABLE conversations (
    app_id bigint NOT NULL,
    conv_key text COLLATE "C" NOT NULL,
    last_seq bigint NOT NULL,
    purged_below_seq bigint NOT NULL DEFAULT 1,
    PRIMARY KEY (app_id, conv_key)
  );
  CREATE TABLE messages (
    app_id bigint NOT NULL,
    conv_key text COLLATE "C" NOT NULL,
    seq bigint NOT NULL,
    sender text COLLATE "C" NOT NULL,
    client_msg_id text COLLATE "C" NOT NULL,
    created_at bigint NOT NULL,
    elem text NOT NULL,
    PRIMARY KEY (app_id, conv_key, seq)
  );
  CREATE UNIQUE INDEX messages_by_client_id ON messages (app_id, conv_key, sender, client_msg_id);
  CREATE TABLE user_conversations (
    app_id bigint NOT NULL,
    user_id text COLLATE "C" NOT NULL,
    conv_key text COLLATE "C" NOT NULL,
    conversation_id text COLLATE "C" NOT NULL,
    last_seq bigint NOT NULL DEFAULT 0,
    unread_count integer NOT NULL DEFAULT 0,
    read_seq bigint NOT NULL DEFAULT 0,
    visible_from_seq bigint NOT NULL DEFAULT 1,
    order_key bigint NOT NULL DEFAULT 0,
    is_pinned boolean NOT NULL DEFAULT false,
    draft_text text NOT NULL DEFAULT '',
    draft_ts bigint NOT NULL DEFAULT 0,
    custom_data text NOT NULL DEFAULT '',
    deleted boolean NOT NULL DEFAULT false,
    version bigint NOT NULL,
    PRIMARY KEY (app_id, user_id, conv_key)
  );
  CREATE INDEX user_conversations_by_version ON user_conversations (app_id, user_id, version);
  CREATE INDEX user_conversations_by_conv ON user_conversations (app_id, conv_key);
  CREATE TABLE deletions (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    app_id bigint NOT NULL,
    user_id text COLLATE "C" NOT NULL,
    conversation_id text COLLATE "C" NOT NULL,
    conv_key text COLLATE "C" NOT NULL,
    device_id text NOT NULL,
    mode text NOT NULL,
    watermark_seq bigint,
    created_at bigint NOT NULL,
    purged_at bigint,
    version bigint NOT NULL DEFAULT 0,
    undo_until bigint,
    undo_snapshot text,
    undone_at bigint
  );
  CREATE INDEX deletions_pending ON deletions (app_id, conv_key) WHERE purged_at IS NULL;
  CREATE INDEX deletions_by_user ON deletions (app_id, user_id, id);
  CREATE INDEX deletions_by_conversation ON deletions (app_id, user_id, conv_key, id);
  CREATE INDEX deletions_undo_snapshots ON deletions (undo_until) WHERE undo_snapshot IS NOT NULL;
  CREATE TABLE purge_queue (
    app_id bigint NOT NULL,
    conv_key text COLLATE "C" NOT NULL,
    queued_at bigint NOT NULL,
    not_before bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (app_id, conv_key)
  );
  CREATE INDEX purge_queue_by_age ON purge_queue (queued_at, app_id, conv_key);
  CREATE TABLE devices (
    app_id bigint NOT NULL,
    user_id text COLLATE "C" NOT NULL,
    device_id text COLLATE "C" NOT NULL,
    platform text NOT NULL,
    capabilities text NOT NULL,
    protocol_version integer NOT NULL,
    first_seen bigint NOT NULL,
    last_seen bigint NOT NULL,
    acked_version bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (app_id, user_id, device_id)
  );
  `,
  `
  CREATE TABLE leases (
    name text COLLATE "C" PRIMARY KEY,
    holder text NOT NULL,
    expires_at bigint NOT NULL
  );
  `,
  `
  CREATE TABLE deletion_requests (
    app_id bigint NOT NULL,
    user_id text COLLATE "C" NOT NULL,
    request_id text COLLATE "C" NOT NULL,
    created_at bigint NOT NULL,
    PRIMARY KEY (app_id, user_id, request_id)
  );
  `,
  `
  ALTER TABLE user_conversations ADD COLUMN marks text NOT NULL DEFAULT '[]';
  `,
  // conv.sync pages by (version, conv_key) from a position; the conversation list by
  // (is_pinned, order_key, order_tie) (see ../list-order.ts).
  `
  CREATE INDEX user_conversations_by_version_key ON user_conversations (app_id, user_id, version, conv_key);
  DROP INDEX user_conversations_by_version;
  ALTER TABLE user_conversations ADD COLUMN order_tie bigint NOT NULL DEFAULT 0;
  UPDATE user_conversations SET order_tie = r.n
    FROM (SELECT app_id, user_id, conv_key, row_number() OVER (PARTITION BY app_id, user_id ORDER BY conv_key DESC) AS n
          FROM user_conversations) AS r
    WHERE user_conversations.app_id = r.app_id AND user_conversations.user_id = r.user_id AND user_conversations.conv_key = r.conv_key;
  CREATE INDEX user_conversations_live ON user_conversations (app_id, user_id, is_pinned, order_key, order_tie)
    WHERE NOT deleted;
  CREATE INDEX user_conversations_live_nonempty ON user_conversations (app_id, user_id, is_pinned, order_key, order_tie)
    WHERE NOT deleted AND last_seq >= GREATEST(1, visible_from_seq);
  `,
  // Group fan-out off the writer (see the SQLite step of the same name).
  `
  ALTER TABLE group_members ADD COLUMN left_seq bigint;
  CREATE TABLE fanout_queue (
    app_id bigint NOT NULL,
    conv_key text COLLATE "C" NOT NULL,
    from_seq bigint NOT NULL,
    to_seq bigint NOT NULL,
    pass_to bigint NOT NULL DEFAULT 0,
    cursor text COLLATE "C" NOT NULL DEFAULT '',
    queued_at bigint NOT NULL,
    PRIMARY KEY (app_id, conv_key)
  );
  CREATE INDEX fanout_queue_by_age ON fanout_queue (queued_at);
  `,
  // Bounded group reads: a member's place in the join order (kept across leave and rejoin)
  // pages the member list by index; the member count is kept on the group row instead of
  // counted per read; and the purge finds a conversation's lowest watermark with one
  // index seek instead of reading every participant's row.
  `
  ALTER TABLE groups ADD COLUMN member_count bigint NOT NULL DEFAULT 0;
  ALTER TABLE groups ADD COLUMN last_member_seq bigint NOT NULL DEFAULT 0;
  ALTER TABLE group_members ADD COLUMN seq bigint NOT NULL DEFAULT 0;
  UPDATE group_members SET seq = r.n
    FROM (SELECT app_id, group_id, user_id, row_number() OVER (PARTITION BY app_id, group_id ORDER BY role DESC, joined_at, user_id) AS n
          FROM group_members) AS r
    WHERE group_members.app_id = r.app_id AND group_members.group_id = r.group_id AND group_members.user_id = r.user_id;
  UPDATE groups SET
    member_count = (SELECT count(*) FROM group_members m WHERE m.app_id = groups.app_id AND m.group_id = groups.group_id AND m.left_at IS NULL),
    last_member_seq = (SELECT coalesce(max(seq), 0) FROM group_members m WHERE m.app_id = groups.app_id AND m.group_id = groups.group_id);
  CREATE INDEX group_members_by_seq ON group_members (app_id, group_id, seq) WHERE left_at IS NULL;
  CREATE INDEX group_members_by_user_group ON group_members (app_id, user_id, group_id) WHERE left_at IS NULL;
  DROP INDEX group_members_by_user;
  CREATE INDEX user_conversations_by_watermark ON user_conversations (app_id, conv_key, visible_from_seq);
  DROP INDEX user_conversations_by_conv;
  `,
  // Fencing tokens for leases; what the purge erased, so a late resend of an erased
  // message is refused (../purged-sends.ts); who is online on which node (PresenceStore).
  `
  ALTER TABLE leases ADD COLUMN token bigint NOT NULL DEFAULT 0;
  CREATE TABLE purged_sends (
    app_id bigint NOT NULL,
    conv_key text COLLATE "C" NOT NULL,
    sender text COLLATE "C" NOT NULL,
    send_key text COLLATE "C" NOT NULL,
    purged_at bigint NOT NULL,
    PRIMARY KEY (app_id, conv_key, sender, send_key)
  );
  CREATE INDEX purged_sends_by_time ON purged_sends (purged_at);
  CREATE TABLE presence (
    app_id bigint NOT NULL,
    user_id text COLLATE "C" NOT NULL,
    session_id text COLLATE "C" NOT NULL,
    node text COLLATE "C" NOT NULL,
    device_id text NOT NULL,
    capabilities text NOT NULL,
    protocol_version integer NOT NULL,
    since bigint NOT NULL,
    expires_at bigint NOT NULL,
    PRIMARY KEY (app_id, user_id, session_id)
  );
  CREATE INDEX presence_by_node ON presence (node);
  CREATE INDEX presence_by_expiry ON presence (expires_at);
  `,
  // What a message carries besides its element (MessageExtra: sender profile, cloud
  // custom data, priority, offline push info), and history read by time with one seek.
  `
  ALTER TABLE messages ADD COLUMN extra text;
  CREATE INDEX messages_by_time ON messages (app_id, conv_key, created_at, seq);
  `,
  // Erasure (docs/deletion.md, "What is erased where"): the index that finds a resend by
  // its clientMsgID holds a SHA-256 of it, not the ID itself (convert_to, not a ::bytea
  // cast, which reads backslashes in the ID as escapes and refuses "a\b"); and each deletion records
  // when the bytes of its purged rows left the files (erased_at: after the rewrite of
  // the tables that held them), apart from when the rows were deleted (purged_at).
  `
  CREATE FUNCTION confab_msg_key(text) RETURNS bytea LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT sha256(convert_to($1, 'UTF8')) $$;
  CREATE UNIQUE INDEX messages_by_client_key ON messages (app_id, conv_key, sender, confab_msg_key(client_msg_id));
  DROP INDEX messages_by_client_id;
  ALTER TABLE deletions ADD COLUMN erased_at bigint;
  CREATE INDEX deletions_unerased ON deletions (purged_at) WHERE purged_at IS NOT NULL AND erased_at IS NULL;
  `,
  // Recalls, modifications and per-user message deletions: see ../sqlite/schema.ts.
  `
  ALTER TABLE messages ADD COLUMN change_seq bigint NOT NULL DEFAULT 0;
  ALTER TABLE messages ADD COLUMN modify_version bigint NOT NULL DEFAULT 0;
  ALTER TABLE messages ADD COLUMN revoker text;
  ALTER TABLE messages ADD COLUMN revoke_reason text;
  CREATE INDEX messages_by_change ON messages (app_id, conv_key, change_seq) WHERE change_seq > 0;
  ALTER TABLE conversations ADD COLUMN change_seq bigint NOT NULL DEFAULT 0;
  ALTER TABLE user_conversations ADD COLUMN change_seq bigint NOT NULL DEFAULT 0;
  ALTER TABLE user_conversations ADD COLUMN delete_seq bigint NOT NULL DEFAULT 0;
  CREATE TABLE deleted_messages (
    app_id bigint NOT NULL,
    user_id text COLLATE "C" NOT NULL,
    conv_key text COLLATE "C" NOT NULL,
    seq bigint NOT NULL,
    delete_seq bigint NOT NULL,
    deleted_at bigint NOT NULL,
    PRIMARY KEY (app_id, user_id, conv_key, seq)
  );
  CREATE INDEX deleted_messages_by_delete_seq ON deleted_messages (app_id, user_id, conv_key, delete_seq);
  CREATE TABLE change_queue (
    app_id bigint NOT NULL,
    conv_key text COLLATE "C" NOT NULL,
    change_to bigint NOT NULL,
    cursor text COLLATE "C" NOT NULL DEFAULT '',
    queued_at bigint NOT NULL,
    PRIMARY KEY (app_id, conv_key)
  );
  `,
];

/**
 * The schema version this build writes: migration N is `MIGRATIONS[N - 1]`, and
 * `schema_migrations` holds one row per N applied.
 */
export const POSTGRES_SCHEMA_VERSION = MIGRATIONS.length;

/**
 * Brings `schema` (created if missing) up to date. Every step runs under a
 * transaction-scoped advisory lock, so nodes that start together apply each step once:
 * the others wait, then find it recorded.
 */
export async function migrate(pool: pg.Pool, schema: string): Promise<void> {
  const client = await pool.connect();
  try {
    for (;;) {
      await client.query('BEGIN');
      try {
        await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`confab:migrate:${schema}`]);
        await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`);
        await client.query(`SET LOCAL search_path TO ${quoteIdent(schema)}`);
        await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
          version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`);
        const { rows } = await client.query<{ v: number }>('SELECT coalesce(max(version), 0) AS v FROM schema_migrations');
        const current = rows[0]!.v;
        // Written by a newer release (a downgrade after an upgrade): refuse, as on SQLite.
        if (current > MIGRATIONS.length) {
          throw new Error(`the PostgreSQL schema ${schema} has schema version ${current}, newer than this Confab's ${MIGRATIONS.length}: `
            + 'it was written by a newer release; run that release (or a later one) on it');
        }
        if (current >= MIGRATIONS.length) {
          await client.query('COMMIT');
          return;
        }
        await client.query(MIGRATIONS[current]!);
        await client.query('INSERT INTO schema_migrations (version) VALUES ($1)', [current + 1]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
    }
  } finally {
    client.release();
  }
}
