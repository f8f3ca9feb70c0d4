import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type {
  AccountRecord, AccountStore, AppRecord, AppSettings, AppStore, FriendRecord, FriendStore, Storage,
} from '../types.js';
import { DEFAULT_APP_SETTINGS, LimitReachedError } from '../types.js';
import { migrate, registerMessageKey } from './schema.js';
import { SqliteMessageStore } from './message-store.js';
import { SqliteConversationStore } from './conversation-store.js';
import { SqliteGroupStore } from './group-store.js';
import { SqliteDeletionStore } from './deletion-store.js';
import { SqliteDeviceStore } from './device-store.js';
import { SqliteLeaseStore } from './lease-store.js';
import { SqliteFanoutStore } from './fanout-store.js';
import { SqliteMessageMutationStore } from './message-mutation-store.js';
import { WalSync } from './wal-sync.js';
import { SqlitePresenceStore } from './presence-store.js';

export interface SqliteStorageOptions {
  /** Path of the database file; `:memory:` for a throwaway database. */
  filename: string;
  /**
   * `full` (default) syncs the WAL on every commit, so an acknowledged message survives
   * a power cut; group commit keeps that to one sync per batch. `normal` survives a
   * process crash but not a power cut.
   */
  durability?: 'full' | 'normal';
}

/** The embedded default backend: one SQLite file in WAL mode, written by this process only. */
export function openSqliteStorage(options: SqliteStorageOptions): Storage {
  if (options.filename !== ':memory:') mkdirSync(dirname(options.filename), { recursive: true });
  const db = new Database(options.filename);
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${options.durability === 'normal' ? 'NORMAL' : 'FULL'}`);
  db.pragma('foreign_keys = ON');
  // Deleted rows are overwritten with zeros, so erased messages do not linger in free pages.
  db.pragma('secure_delete = ON');
  db.pragma('busy_timeout = 5000');
  registerMessageKey(db);
  try {
    migrate(db, options.filename);
  } catch (err) {
    db.close();
    throw err;
  }
  const walSync = options.durability !== 'normal' && options.filename !== ':memory:' ? new WalSync(`${options.filename}-wal`) : undefined;

  return {
    kind: 'sqlite',
    apps: new SqliteAppStore(db),
    accounts: new SqliteAccountStore(db),
    friends: new SqliteFriendStore(db),
    groups: new SqliteGroupStore(db),
    messages: new SqliteMessageStore(db, walSync),
    conversations: new SqliteConversationStore(db),
    deletions: new SqliteDeletionStore(db),
    devices: new SqliteDeviceStore(db),
    leases: new SqliteLeaseStore(db),
    fanout: new SqliteFanoutStore(db),
    mutations: new SqliteMessageMutationStore(db),
    readBarrier: () => walSync?.barrier(),
    presence: new SqlitePresenceStore(db),
    async ping() {
      if (!db.open) throw new Error('the SQLite database is closed');
      db.prepare('SELECT 1').get();
    },
    async close() {
      await walSync?.barrier();
      walSync?.close();
      if (db.open) {
        db.pragma('wal_checkpoint(TRUNCATE)');
        db.close();
      }
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

class SqliteAppStore implements AppStore {
  readonly #s;
  constructor(db: Database.Database) {
    this.#s = {
      insert: db.prepare('INSERT INTO apps (sdk_app_id, name, secret_key, admin_user_id, settings, created_at) VALUES (?, ?, ?, ?, ?, ?)'),
      get: db.prepare('SELECT * FROM apps WHERE sdk_app_id = ?'),
      list: db.prepare('SELECT * FROM apps ORDER BY sdk_app_id'),
      settings: db.prepare('UPDATE apps SET settings = ? WHERE sdk_app_id = ?'),
      secret: db.prepare('UPDATE apps SET secret_key = ? WHERE sdk_app_id = ?'),
    };
  }
  async create(app: AppRecord) {
    this.#s.insert.run(app.sdkAppID, app.name, app.secretKey, app.adminUserID, JSON.stringify(app.settings), app.createdAt);
  }
  async get(sdkAppID: number) {
    const raw = this.#s.get.get(sdkAppID) as RawApp | undefined;
    return raw ? toApp(raw) : undefined;
  }
  async list() {
    return (this.#s.list.all() as RawApp[]).map(toApp);
  }
  async updateSettings(sdkAppID: number, settings: AppSettings) {
    this.#s.settings.run(JSON.stringify(settings), sdkAppID);
  }
  async updateSecret(sdkAppID: number, secretKey: string) {
    this.#s.secret.run(secretKey, sdkAppID);
  }
}

interface RawAccount { user_id: string; nick_name: string; face_url: string; self_signature: string; created_at: number }

function toAccount(raw: RawAccount): AccountRecord {
  return { userID: raw.user_id, nickName: raw.nick_name, faceUrl: raw.face_url, selfSignature: raw.self_signature, createdAt: raw.created_at };
}

class SqliteAccountStore implements AccountStore {
  readonly #db: Database.Database;
  readonly #s;
  constructor(db: Database.Database) {
    this.#db = db;
    this.#s = {
      insert: db.prepare('INSERT INTO accounts (app_id, user_id, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING'),
      get: db.prepare('SELECT * FROM accounts WHERE app_id = ? AND user_id = ?'),
      version: db.prepare('SELECT sync_version FROM accounts WHERE app_id = ? AND user_id = ?'),
    };
  }
  async ensure(app: number, userID: string, now: number) {
    this.#s.insert.run(app, userID, now);
    return toAccount(this.#s.get.get(app, userID) as RawAccount);
  }
  async get(app: number, userIDs: string[]) {
    const out: AccountRecord[] = [];
    for (const id of userIDs) {
      const raw = this.#s.get.get(app, id) as RawAccount | undefined;
      if (raw) out.push(toAccount(raw));
    }
    return out;
  }
  async updateProfile(app: number, userID: string, patch: Partial<Pick<AccountRecord, 'nickName' | 'faceUrl' | 'selfSignature'>>) {
    const sets: string[] = [];
    const values: string[] = [];
    if (patch.nickName !== undefined) { sets.push('nick_name = ?'); values.push(patch.nickName); }
    if (patch.faceUrl !== undefined) { sets.push('face_url = ?'); values.push(patch.faceUrl); }
    if (patch.selfSignature !== undefined) { sets.push('self_signature = ?'); values.push(patch.selfSignature); }
    if (sets.length) this.#db.prepare(`UPDATE accounts SET ${sets.join(', ')} WHERE app_id = ? AND user_id = ?`).run(...values, app, userID);
    const raw = this.#s.get.get(app, userID) as RawAccount | undefined;
    if (!raw) throw new Error(`account ${userID} not found`);
    return toAccount(raw);
  }
  async syncVersion(app: number, userID: string) {
    return (this.#s.version.get(app, userID) as { sync_version: number } | undefined)?.sync_version ?? 0;
  }
}

class SqliteFriendStore implements FriendStore {
  readonly #db: Database.Database;
  readonly #s;
  constructor(db: Database.Database) {
    this.#db = db;
    this.#s = {
      upsert: db.prepare(`INSERT INTO friends (app_id, user_id, friend_id, remark, added_at) VALUES (?, ?, ?, ?, ?)
        ON CONFLICT (app_id, user_id, friend_id) DO UPDATE SET remark = excluded.remark`),
      insertReverse: db.prepare('INSERT INTO friends (app_id, user_id, friend_id, remark, added_at) VALUES (?, ?, ?, \'\', ?) ON CONFLICT DO NOTHING'),
      get: db.prepare('SELECT * FROM friends WHERE app_id = ? AND user_id = ? AND friend_id = ?'),
      remove: db.prepare('DELETE FROM friends WHERE app_id = ? AND ((user_id = ? AND friend_id = ?) OR (user_id = ? AND friend_id = ?))'),
      page: db.prepare('SELECT * FROM friends WHERE app_id = ? AND user_id = ? AND friend_id > ? ORDER BY friend_id LIMIT ?'),
      count: db.prepare('SELECT count(*) AS n FROM friends WHERE app_id = ? AND user_id = ?'),
    };
  }
  async add(app: number, userID: string, friendID: string, remark: string, now: number, maxFriends?: number) {
    return this.#db.transaction(() => {
      if (maxFriends !== undefined && !this.#s.get.get(app, userID, friendID)) {
        if ((this.#s.count.get(app, userID) as { n: number }).n >= maxFriends) throw new LimitReachedError('friends', userID);
        if ((this.#s.count.get(app, friendID) as { n: number }).n >= maxFriends) throw new LimitReachedError('peerFriends', friendID);
      }
      this.#s.upsert.run(app, userID, friendID, remark, now);
      this.#s.insertReverse.run(app, friendID, userID, now);
      return toFriend(this.#s.get.get(app, userID, friendID) as RawFriend);
    })();
  }
  async remove(app: number, userID: string, friendID: string) {
    return this.#s.remove.run(app, userID, friendID, friendID, userID).changes > 0;
  }
  async page(app: number, userID: string, limit: number, afterFriendID = '') {
    return (this.#s.page.all(app, userID, afterFriendID, limit) as RawFriend[]).map(toFriend);
  }
}

interface RawFriend { user_id: string; friend_id: string; remark: string; added_at: number }
function toFriend(raw: RawFriend): FriendRecord {
  return { userID: raw.user_id, friendID: raw.friend_id, remark: raw.remark, addedAt: raw.added_at };
}
