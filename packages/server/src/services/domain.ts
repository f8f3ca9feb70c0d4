import { FriendRelationService } from './friend-relations.js';
import { GroupAdminService } from './group-admin.js';
import { MessageMutationService } from './message-mutations.js';
import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { CLUSTER_TOPIC, type Bus } from '../bus/types.js';
import { ConfabError, ErrorCode } from '@confab/protocol';
import { DEFAULT_APP_SETTINGS, type AppRecord, type AppSettings, type Storage } from '../storage/types.js';
import { AccountService } from './accounts.js';
import { Sequencer, type ServiceContext } from './context.js';
import { ConversationService } from './conversations.js';
import { FriendService } from './friends.js';
import { GroupService } from './groups.js';
import { MessageService } from './messages.js';
import { PurgeWorker, type PurgeWorkerOptions } from './purge-worker.js';
import { FanoutWorker, type FanoutWorkerOptions } from './fanout-worker.js';
import { ReadStateService } from './read-state.js';
import { ReceiptService } from './receipts.js';
import { FileService, type FileServiceOptions } from '../files/file-service.js';
import type { FileStore } from '../files/types.js';
import { loggingPushProvider, OfflinePusher, type PushProvider } from './offline-push.js';

/**
 * Apps are read on every login; they change rarely (settings from the console), so
 * they are cached and the cache is dropped on every settings write. In a cluster a
 * write on one node is announced on the bus (`onChange`) and the other nodes re-read
 * the app (`refresh`), so a settings change reaches every node's sessions within a bus
 * hop.
 */
export class AppService {
  readonly #storage: Storage;
  readonly #onChange: ((sdkAppID: number) => void) | undefined;
  readonly #cache = new Map<number, AppRecord>();
  /**
   * Bumped by every write and refresh of an app: a read that started before a newer
   * one must not put its older record into the cache when it completes last.
   */
  readonly #generation = new Map<number, number>();

  constructor(storage: Storage, onChange?: (sdkAppID: number) => void) {
    this.#storage = storage;
    this.#onChange = onChange;
  }

  async get(sdkAppID: number): Promise<AppRecord | undefined> {
    const cached = this.#cache.get(sdkAppID);
    if (cached) return cached;
    const generation = this.#generation.get(sdkAppID) ?? 0;
    const app = await this.#storage.apps.get(sdkAppID);
    if (app && (this.#generation.get(sdkAppID) ?? 0) === generation) this.#cache.set(sdkAppID, app);
    return this.#cache.get(sdkAppID) ?? app;
  }

  /** The cached app, without a storage read; for hot paths that already logged the app in. */
  peek(sdkAppID: number): AppRecord | undefined {
    return this.#cache.get(sdkAppID);
  }

  /** Writes settings through the cache, so connected sessions see them at once (on every node). */
  async updateSettings(sdkAppID: number, patch: Partial<AppSettings>): Promise<AppRecord> {
    // Merged into the stored record, not the cached one: another node may have changed
    // other settings since this node cached the app.
    const app = await this.#storage.apps.get(sdkAppID);
    if (!app) throw new ConfabError(ErrorCode.SDKAPPID_NOT_FOUND, `SDKAppID ${sdkAppID} does not exist`);
    const updated: AppRecord = { ...app, settings: { ...app.settings, ...patch } };
    await this.#storage.apps.updateSettings(sdkAppID, updated.settings);
    this.#bump(sdkAppID);
    this.#cache.set(sdkAppID, updated);
    this.#onChange?.(sdkAppID);
    return updated;
  }

  /**
   * Gives the app a new random secret key, through the cache and to every node (as
   * `updateSettings`). UserSigs signed with the old key stop working at their next login,
   * as do admin sessions opened with it.
   */
  async rotateSecret(sdkAppID: number): Promise<AppRecord> {
    const app = await this.#storage.apps.get(sdkAppID);
    if (!app) throw new ConfabError(ErrorCode.SDKAPPID_NOT_FOUND, `SDKAppID ${sdkAppID} does not exist`);
    const updated: AppRecord = { ...app, secretKey: randomBytes(32).toString('hex') };
    await this.#storage.apps.updateSecret(sdkAppID, updated.secretKey);
    this.#bump(sdkAppID);
    this.#cache.set(sdkAppID, updated);
    this.#onChange?.(sdkAppID);
    return updated;
  }

  /** The apps this node has cached. */
  cachedIDs(): number[] {
    return [...this.#cache.keys()];
  }

  /** Another node changed the app: re-read it (the old record serves until the new one is in). */
  async refresh(sdkAppID: number): Promise<void> {
    const generation = this.#bump(sdkAppID);
    const app = await this.#storage.apps.get(sdkAppID);
    if (this.#generation.get(sdkAppID) !== generation) return; // a newer write or refresh won
    if (app) this.#cache.set(sdkAppID, app);
    else this.#cache.delete(sdkAppID);
  }

  #bump(sdkAppID: number): number {
    const generation = (this.#generation.get(sdkAppID) ?? 0) + 1;
    this.#generation.set(sdkAppID, generation);
    return generation;
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

/** How often a node of a cluster re-reads the apps it caches, in case it missed a change on the bus. */
const APP_REREAD_MS = 30_000;

export interface DomainOptions {
  now?: () => number;
  purge?: PurgeWorkerOptions;
  fanout?: FanoutWorkerOptions;
  /** This node's ID in a cluster: the purge lease's holder, and the sender of cluster messages. Default: random. */
  nodeID?: string;
  /** Where media messages' files go; without one, media messages are refused. */
  fileStore?: FileStore;
  files?: FileServiceOptions;
  /** Offline pushes for recipients with no session online; default: a debug log line. */
  pushProvider?: PushProvider;
}

/** Every domain service, wired to one storage and one bus. */
export class Domain {
  readonly storage: Storage;
  /** The cluster bus: REST commands that act on sessions (kick) publish on it. */
  readonly bus: Bus;
  readonly nodeID: string;
  readonly apps: AppService;
  readonly accounts: AccountService;
  readonly friends: FriendService;
  readonly groups: GroupService;
  /** Friend applications, one-way friendships, friend info and blocklists. */
  readonly relations: FriendRelationService;
  /** Group profile changes, roles, mutes, member fields and join applications. */
  readonly groupAdmin: GroupAdminService;
  readonly messages: MessageService;
  readonly conversations: ConversationService;
  readonly mutations: MessageMutationService;
  readonly readState: ReadStateService;
  readonly receipts: ReceiptService;
  readonly purge: PurgeWorker;
  readonly fanout: FanoutWorker;
  /** Media messages' files; undefined when the domain has no file store. */
  readonly files: FileService | undefined;
  /** Offline pushes to recipients with no session online (`PushProvider`). */
  readonly offlinePush: OfflinePusher;
  readonly #unsubscribe: () => void;
  readonly #rereadTimer: NodeJS.Timeout | undefined;
  readonly #logger: Logger;

  constructor(storage: Storage, bus: Bus, logger: Logger, options: DomainOptions = {}) {
    this.storage = storage;
    this.bus = bus;
    this.#logger = logger;
    const nodeID = (this.nodeID = options.nodeID ?? randomUUID());
    // Other nodes hear of app changes and queued purges; this node acts on its own directly.
    this.apps = new AppService(storage, (sdkAppID) => bus.publish(CLUSTER_TOPIC, { kind: 'app', sdkAppID, node: nodeID }));
    this.purge = new PurgeWorker(storage, logger, { holder: nodeID, ...options.purge });
    this.#unsubscribe = bus.subscribe(CLUSTER_TOPIC, (message) => {
      if (message.kind === 'resync') {
        // A settings change or purge wake-up from another node may have been lost
        // (bus/sequenced-bus.ts): re-read what is cached now rather than in APP_REREAD_MS.
        this.#rereadApps();
        this.purge.wake();
        this.fanout.wake();
        return;
      }
      if (!('node' in message) || message.node === nodeID) return;
      if (message.kind === 'app') {
        this.apps.refresh(message.sdkAppID).catch((err: unknown) => logger.error({ err, sdkAppID: message.sdkAppID }, 'could not re-read a changed app'));
      } else if (message.kind === 'purge') {
        this.purge.wake();
      } else if (message.kind === 'fanout') {
        this.fanout.wake();
      }
    });
    // A bus between nodes can lose a message (NATS is at-most-once, and down while it
    // restarts), so cached apps are also re-read now and then: a missed settings change
    // is applied within APP_REREAD_MS at worst. One node re-reads too: `confab app
    // rotate-secret` run beside a running node changes the key behind its back.
    this.#rereadTimer = setInterval(() => this.#rereadApps(), APP_REREAD_MS).unref();
    const onDeletion = () => {
      this.purge.wake();
      bus.publish(CLUSTER_TOPIC, { kind: 'purge', node: nodeID });
    };
    // The lease holder may be another node: it hears of new fan-out jobs on the cluster topic.
    const onFanout = () => {
      this.fanout.wake();
      bus.publish(CLUSTER_TOPIC, { kind: 'fanout', node: nodeID });
    };
    this.files = options.fileStore ? new FileService(options.fileStore, storage, this.apps, logger, options.files) : undefined;
    if (this.files) {
      const files = this.files;
      this.purge.collectFilesWith(() => files.collect());
    }
    const offlinePush = this.offlinePush = new OfflinePusher(storage,
      // Without a provider, the presence query per batch would only feed a debug line.
      options.pushProvider ?? (logger.isLevelEnabled('debug') ? loggingPushProvider(logger) : undefined), logger);
    const onErased = () => this.purge.compactSoon();
    const ctx: ServiceContext = { storage, bus, logger, now: options.now ?? Date.now, apps: this.apps, onDeletion, onFanout, onErased, offlinePush, publishOrder: new Sequencer(),
      ...(this.files ? { files: this.files } : {}),
    };
    this.fanout = new FanoutWorker(ctx, { holder: nodeID, ...options.fanout });
    this.accounts = new AccountService(ctx);
    this.friends = new FriendService(ctx, this.accounts);
    this.groupAdmin = new GroupAdminService(ctx);
    this.groups = new GroupService(ctx, this.accounts, this.groupAdmin);
    this.relations = new FriendRelationService(ctx, this.accounts);
    this.messages = new MessageService(ctx, this.accounts);
    this.conversations = new ConversationService(ctx, this.accounts);
    this.mutations = new MessageMutationService(ctx);
    this.readState = new ReadStateService(ctx, this.accounts, this.conversations);
    this.receipts = new ReceiptService(ctx);
  }

  #rereadApps(): void {
    for (const sdkAppID of this.apps.cachedIDs()) {
      this.apps.refresh(sdkAppID).catch((err: unknown) => this.#logger.warn({ err, sdkAppID }, 'could not re-read an app'));
    }
  }

  /** Stops the purge worker (releasing its lease) and leaves the cluster topic. */
  async close(): Promise<void> {
    clearInterval(this.#rereadTimer);
    this.#unsubscribe();
    await this.purge.stop();
    await this.fanout.stop();
    await this.offlinePush.idle();
  }
}
