import pg from 'pg';
import type {
  AccountRecord, AccountStore, AppRecord, AppSettings, AppStore, FriendRecord, FriendStore, Storage,
} from '../types.js';
import { DEFAULT_APP_SETTINGS, LimitReachedError } from '../types.js';
import { migrate } from './schema.js';
import { withTransaction } from './tx.js';
import { PgMessageStore } from './message-store.js';
import { PgConversationStore } from './conversation-store.js';
import { PgGroupStore } from './group-store.js';
import { PgDeletionStore } from './deletion-store.js';
import { PgDeviceStore } from './device-store.js';
import { PgLeaseStore } from './lease-store.js';
import { PgFanoutStore } from './fanout-store.js';
import { PgMessageMutationStore } from './message-mutation-store.js';
import { PgPresenceStore } from './presence-store.js';
import type { RewriteOptions } from './erasure.js';

export interface PostgresStorageOptions {
  /** `postgres://user:password@host:port/database`. */
  connectionString: string;
  /**
   * The schema holding Confab's tables, created if missing; `public` by default. Lower
   * case letters, digits and `_`, so it can go into every connection's search_path as is.
   */
  schema?: string;
  /** Connections per node; 10 by default. */
  poolSize?: number;
  /** How the purge's erasure rewrite waits for older transactions and for its locks (./erasure.ts). */
  erasure?: RewriteOptions;
}

const INT8_OID = 20;

/** bigint columns (seqs, versions, times, counts) as JS numbers; beyond 2^53 is a corrupt value, not a number. */
function parseInt8(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new Error(`bigint ${value} is outside the safe integer range`);
  return n;
}

/**
 * The PostgreSQL backend: any number of server nodes share one database. Every method is
 * one transaction; concurrency is handled by row locks taken in a fixed order
 * (conversation rows by key, then account rows by user), never by in-process state.
 */
export async function openPostgresStorage(options: PostgresStorageOptions): Promise<Storage> {
  const schema = options.schema ?? 'public';
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new Error(`schema ${JSON.stringify(schema)} must match [a-z_][a-z0-9_]*`);
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.poolSize ?? 10,
    // A database that does not answer fails requests after 5 s instead of holding every
    // sender of the node for the operating system's connect timeout (minutes).
    connectionTimeoutMillis: 5000,
    options: `-c search_path=${schema}`,
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === INT8_OID ? parseInt8 : pg.types.getTypeParser(oid, format ?? 'text')) as pg.CustomTypesConfig['getTypeParser'],
    },
  });
  // An idle connection that breaks (server restart, network) is dropped by the pool; the
  // next query opens a new one. Without a listener the error would end the process.
  pool.on('error', () => undefined);
  try {
    await migrate(pool, schema);
  } catch (err) {
    await pool.end();
    throw err;
  }

  let closed = false;
  return {
    kind: 'postgres',
    apps: new PgAppStore(pool),
    accounts: new PgAccountStore(pool),
    friends: new PgFriendStore(pool),
    groups: new PgGroupStore(pool),
    messages: new PgMessageStore(pool),
    conversations: new PgConversationStore(pool),
    deletions: new PgDeletionStore(pool, options.erasure),
    devices: new PgDeviceStore(pool),
    leases: new PgLeaseStore(pool),
    fanout: new PgFanoutStore(pool),
    mutations: new PgMessageMutationStore(pool),
    presence: new PgPresenceStore(pool),
    async ping() {
      if (closed) throw new Error('the PostgreSQL pool is closed');
      await pool.query('SELECT 1');
    },
    async close() {
      if (closed) return;
      closed = true;
      await pool.end();
    },
  };
}

interface RawApp { sdk_app_id: number; name: string; secret_key: string; admin_user_id: string; settings: string; created_at: number }

function toApp(raw: RawApp): AppRecord {
  return {
    sdkAppID: raw.sdk_app_id, name: raw.name, secretKey: raw.secret_key, adminUserID: raw.admin_user_id,
    settings: { ...DEFAULT_APP_SETTINGS, ...(JSON.parse(raw.settings) as Partial<AppSettings>) }, createdAt: raw.created_at,
  };
}

class PgAppStore implements AppStore {
  readonly #pool: pg.Pool;
  constructor(pool: pg.Pool) {
    this.#pool = pool;
  }
  async create(app: AppRecord) {
    await this.#pool.query('INSERT INTO apps (sdk_app_id, name, secret_key, admin_user_id, settings, created_at) VALUES ($1, $2, $3, $4, $5, $6)',
      [app.sdkAppID, app.name, app.secretKey, app.adminUserID, JSON.stringify(app.settings), app.createdAt]);
  }
  async get(sdkAppID: number) {
    const { rows } = await this.#pool.query<RawApp>('SELECT * FROM apps WHERE sdk_app_id = $1', [sdkAppID]);
    return rows[0] ? toApp(rows[0]) : undefined;
  }
  async list() {
    return (await this.#pool.query<RawApp>('SELECT * FROM apps ORDER BY sdk_app_id')).rows.map(toApp);
  }
  async updateSettings(sdkAppID: number, settings: AppSettings) {
    await this.#pool.query('UPDATE apps SET settings = $1 WHERE sdk_app_id = $2', [JSON.stringify(settings), sdkAppID]);
  }
  async updateSecret(sdkAppID: number, secretKey: string) {
    await this.#pool.query('UPDATE apps SET secret_key = $1 WHERE sdk_app_id = $2', [secretKey, sdkAppID]);
  }
}

interface RawAccount { user_id: string; nick_name: string; face_url: string; self_signature: string; created_at: number }

const ACCOUNT_COLUMNS = 'user_id, nick_name, face_url, self_signature, created_at';

function toAccount(raw: RawAccount): AccountRecord {
  return { userID: raw.user_id, nickName: raw.nick_name, faceUrl: raw.face_url, selfSignature: raw.self_signature, createdAt: raw.created_at };
}

class PgAccountStore implements AccountStore {
  readonly #pool: pg.Pool;
  constructor(pool: pg.Pool) {
    this.#pool = pool;
  }
  async ensure(app: number, userID: string, now: number) {
    return withTransaction(this.#pool, async (client) => {
      const inserted = await client.query<RawAccount>(`INSERT INTO accounts (app_id, user_id, created_at) VALUES ($1, $2, $3)
        ON CONFLICT DO NOTHING RETURNING ${ACCOUNT_COLUMNS}`, [app, userID, now]);
      // Not inserted: it exists (a concurrent insert has committed by now; this statement sees it).
      const raw = inserted.rows[0] ?? (await client.query<RawAccount>(`SELECT ${ACCOUNT_COLUMNS} FROM accounts
        WHERE app_id = $1 AND user_id = $2`, [app, userID])).rows[0];
      return toAccount(raw!);
    });
  }
  async get(app: number, userIDs: string[]) {
    if (userIDs.length === 0) return [];
    const { rows } = await this.#pool.query<RawAccount>(`SELECT ${ACCOUNT_COLUMNS} FROM accounts
      WHERE app_id = $1 AND user_id = ANY($2::text[])`, [app, userIDs]);
    const byID = new Map(rows.map((r) => [r.user_id, toAccount(r)]));
    // In the order asked, as the SQLite store returns them.
    return userIDs.flatMap((id) => byID.get(id) ?? []);
  }
  async updateProfile(app: number, userID: string, patch: Partial<Pick<AccountRecord, 'nickName' | 'faceUrl' | 'selfSignature'>>) {
    const sets: string[] = [];
    const values: string[] = [];
    const set = (column: string, value: string) => {
      values.push(value);
      sets.push(`${column} = $${values.length + 2}`);
    };
    if (patch.nickName !== undefined) set('nick_name', patch.nickName);
    if (patch.faceUrl !== undefined) set('face_url', patch.faceUrl);
    if (patch.selfSignature !== undefined) set('self_signature', patch.selfSignature);
    const { rows } = sets.length
      ? await this.#pool.query<RawAccount>(`UPDATE accounts SET ${sets.join(', ')} WHERE app_id = $1 AND user_id = $2
          RETURNING ${ACCOUNT_COLUMNS}`, [app, userID, ...values])
      : await this.#pool.query<RawAccount>(`SELECT ${ACCOUNT_COLUMNS} FROM accounts WHERE app_id = $1 AND user_id = $2`, [app, userID]);
    if (!rows[0]) throw new Error(`account ${userID} not found`);
    return toAccount(rows[0]);
  }
  async syncVersion(app: number, userID: string) {
    const { rows } = await this.#pool.query<{ sync_version: number }>('SELECT sync_version FROM accounts WHERE app_id = $1 AND user_id = $2', [app, userID]);
    return rows[0]?.sync_version ?? 0;
  }
}

interface RawFriend { user_id: string; friend_id: string; remark: string; added_at: number }
function toFriend(raw: RawFriend): FriendRecord {
  return { userID: raw.user_id, friendID: raw.friend_id, remark: raw.remark, addedAt: raw.added_at };
}

class PgFriendStore implements FriendStore {
  readonly #pool: pg.Pool;
  constructor(pool: pg.Pool) {
    this.#pool = pool;
  }
  async add(app: number, userID: string, friendID: string, remark: string, now: number, maxFriends?: number) {
    return withTransaction(this.#pool, async (client) => {
      if (maxFriends !== undefined) {
        // Both account rows, in user order as every writer takes them: two adds racing
        // for a user's last free place are counted one after the other.
        await client.query('SELECT 1 FROM accounts WHERE app_id = $1 AND user_id = ANY($2::text[]) ORDER BY user_id FOR UPDATE',
          [app, [userID, friendID]]);
        const existing = await client.query('SELECT 1 FROM friends WHERE app_id = $1 AND user_id = $2 AND friend_id = $3', [app, userID, friendID]);
        if (existing.rowCount === 0) {
          const { rows: counts } = await client.query<{ user_id: string; n: number }>(`SELECT user_id, count(*)::bigint AS n FROM friends
            WHERE app_id = $1 AND user_id = ANY($2::text[]) GROUP BY user_id`, [app, [userID, friendID]]);
          const count = (id: string) => counts.find((c) => c.user_id === id)?.n ?? 0;
          if (count(userID) >= maxFriends) throw new LimitReachedError('friends', userID);
          if (count(friendID) >= maxFriends) throw new LimitReachedError('peerFriends', friendID);
        }
      }
      const { rows } = await client.query<RawFriend>(`INSERT INTO friends (app_id, user_id, friend_id, remark, added_at) VALUES ($1, $2, $3, $4, $5)
        ON CONFLICT (app_id, user_id, friend_id) DO UPDATE SET remark = excluded.remark
        RETURNING user_id, friend_id, remark, added_at`, [app, userID, friendID, remark, now]);
      await client.query(`INSERT INTO friends (app_id, user_id, friend_id, remark, added_at) VALUES ($1, $2, $3, '', $4)
        ON CONFLICT DO NOTHING`, [app, friendID, userID, now]);
      return toFriend(rows[0]!);
    });
  }
  async remove(app: number, userID: string, friendID: string) {
    const { rowCount } = await this.#pool.query(`DELETE FROM friends
      WHERE app_id = $1 AND ((user_id = $2 AND friend_id = $3) OR (user_id = $3 AND friend_id = $2))`, [app, userID, friendID]);
    return (rowCount ?? 0) > 0;
  }
  async page(app: number, userID: string, limit: number, afterFriendID = '') {
    const { rows } = await this.#pool.query<RawFriend>(`SELECT user_id, friend_id, remark, added_at FROM friends
      WHERE app_id = $1 AND user_id = $2 AND friend_id > $3 ORDER BY friend_id LIMIT $4`, [app, userID, afterFriendID, limit]);
    return rows.map(toFriend);
  }
}
