export { startServer, type ConfabServer, type ServerOptions } from './server.js';
export { genUserSig, verifyUserSig, DEFAULT_USER_SIG_EXPIRE_SECONDS } from './auth/usersig.js';
export { openSqliteStorage, type SqliteStorageOptions } from './storage/sqlite/sqlite-storage.js';
export { MemoryBus } from './bus/memory-bus.js';
export type { Bus, BusMessage } from './bus/types.js';
export type * from './storage/types.js';
export { DEFAULT_APP_SETTINGS } from './storage/types.js';
export { Domain } from './services/domain.js';
export { connectNatsBus, natsSubject, type NatsBus, type NatsBusOptions, type NatsBusLogger } from './bus/nats-bus.js';
