import { randomBytes, randomInt } from 'node:crypto';
import type { Logger } from 'pino';
import type { Bus } from '../bus/types.js';
import { ConfabError, ErrorCode } from '@confab/protocol';
import { DEFAULT_APP_SETTINGS, type AppRecord, type AppSettings, type Storage } from '../storage/types.js';
import { AccountService } from './accounts.js';
import { Sequencer, type ServiceContext } from './context.js';
import { ConversationService } from './conversations.js';
import { FriendService } from './friends.js';
import { GroupService } from './groups.js';
import { MessageService } from './messages.js';
import { PurgeWorker, type PurgeWorkerOptions } from './purge-worker.js';

/**
 * Apps are read on every login; they change rarely (settings from the console), so
 * they are cached and the cache is dropped on every settings write.
 */
export class AppService {
  readonly #storage: Storage;
  readonly #cache = new Map<number, AppRecord>();

  constructor(storage: Storage) {
    this.#storage = storage;
  }

  async get(sdkAppID: number): Promise<AppRecord | undefined> {
    const cached = this.#cache.get(sdkAppID);
    if (cached) return cached;
    const app = await this.#storage.apps.get(sdkAppID);
    if (app) this.#cache.set(sdkAppID, app);
    return app;
  }

  /** The cached app, without a storage read; for hot paths that already logged the app in. */
  peek(sdkAppID: number): AppRecord | undefined {
    return this.#cache.get(sdkAppID);
  }

  /** Writes settings through the cache, so connected sessions see them at once. */
  async updateSettings(sdkAppID: number, patch: Partial<AppSettings>): Promise<AppRecord> {
    const app = await this.get(sdkAppID);
    if (!app) throw new ConfabError(ErrorCode.SDKAPPID_NOT_FOUND, `SDKAppID ${sdkAppID} does not exist`);
    const updated: AppRecord = { ...app, settings: { ...app.settings, ...patch } };
    await this.#storage.apps.updateSettings(sdkAppID, updated.settings);
    this.#cache.set(sdkAppID, updated);
    return updated;
  }

  list(): Promise<AppRecord[]> {
    return this.#storage.apps.list();
  }

  /** Creates an app with a fresh SDKAppID (14xxxxxxxx, as the reference's) and secret key. */
  async create(opts: { name: string; sdkAppID?: number; secretKey?: string; now: number }): Promise<AppRecord> {
    let sdkAppID = opts.sdkAppID;
    while (sdkAppID === undefined || (await this.#storage.apps.get(sdkAppID))) {
      if (opts.sdkAppID !== undefined && sdkAppID !== undefined) throw new Error(`SDKAppID ${sdkAppID} already exists`);
      sdkAppID = 1_400_000_000 + randomInt(0, 99_999_999);
    }
    const app: AppRecord = {
      sdkAppID, name: opts.name, secretKey: opts.secretKey ?? randomBytes(32).toString('hex'),
      adminUserID: 'administrator', settings: { ...DEFAULT_APP_SETTINGS }, createdAt: opts.now,
    };
    await this.#storage.apps.create(app);
    return app;
  }
}

/** Every domain service, wired to one storage and one bus. */
export class Domain {
  readonly storage: Storage;
  readonly apps: AppService;
  readonly accounts: AccountService;
  readonly friends: FriendService;
  readonly groups: GroupService;
  readonly messages: MessageService;
  readonly conversations: ConversationService;
  readonly purge: PurgeWorker;

  constructor(storage: Storage, bus: Bus, logger: Logger, options: { now?: () => number; purge?: PurgeWorkerOptions } = {}) {
    this.storage = storage;
    this.apps = new AppService(storage);
    this.purge = new PurgeWorker(storage, logger, options.purge);
    const ctx: ServiceContext = { storage, bus, logger, now: options.now ?? Date.now, apps: this.apps, onDeletion: () => this.purge.wake(), publishOrder: new Sequencer() };
    this.accounts = new AccountService(ctx);
    this.friends = new FriendService(ctx, this.accounts);
    this.groups = new GroupService(ctx, this.accounts);
    this.messages = new MessageService(ctx, this.accounts);
    this.conversations = new ConversationService(ctx, this.accounts);
  }
}
