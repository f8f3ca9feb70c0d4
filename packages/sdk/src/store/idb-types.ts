/**
 * The slice of the IndexedDB API that `IndexedDbStore` uses, typed here because the SDK
 * compiles against `lib: ES2022` (no DOM). A browser's `indexedDB`/`IDBKeyRange`, or a
 * Node polyfill such as fake-indexeddb, fits these shapes structurally.
 */

export type IdbKey = number | string | IdbKey[];

export interface IdbKeyRangeLike {
  readonly lower: unknown;
  readonly upper: unknown;
}

export interface IdbKeyRangeStatic {
  bound(lower: IdbKey, upper: IdbKey, lowerOpen?: boolean, upperOpen?: boolean): IdbKeyRangeLike;
}

export interface IdbRequest<T = unknown> {
  readonly result: T;
  readonly error: { name: string; message: string } | null;
  onsuccess: ((ev: unknown) => void) | null;
  onerror: ((ev: { preventDefault?(): void; stopPropagation?(): void }) => void) | null;
}

export interface IdbOpenRequest extends IdbRequest<IdbDatabase> {
  readonly transaction: IdbTransaction | null;
  onupgradeneeded: ((ev: { oldVersion: number; newVersion: number | null }) => void) | null;
  onblocked: ((ev: unknown) => void) | null;
}

export interface IdbCursorWithValue {
  readonly value: unknown;
  readonly primaryKey: unknown;
  continue(): void;
  update(value: unknown): IdbRequest<IdbKey>;
}

export interface IdbIndex {
  get(query: IdbKey | IdbKeyRangeLike): IdbRequest<unknown>;
  getKey(query: IdbKey | IdbKeyRangeLike): IdbRequest<IdbKey | undefined>;
  getAll(query?: IdbKey | IdbKeyRangeLike | null, count?: number): IdbRequest<unknown[]>;
}

export interface IdbObjectStore {
  put(value: unknown): IdbRequest<IdbKey>;
  get(query: IdbKey | IdbKeyRangeLike): IdbRequest<unknown>;
  getAll(query?: IdbKey | IdbKeyRangeLike | null, count?: number): IdbRequest<unknown[]>;
  delete(query: IdbKey | IdbKeyRangeLike): IdbRequest<undefined>;
  openCursor(query?: IdbKey | IdbKeyRangeLike | null, direction?: 'next' | 'prev'): IdbRequest<IdbCursorWithValue | null>;
  index(name: string): IdbIndex;
  createIndex(name: string, keyPath: string | string[], options?: { unique?: boolean }): IdbIndex;
}

export interface IdbTransaction {
  readonly error: { name: string; message: string } | null;
  objectStore(name: string): IdbObjectStore;
  abort(): void;
  oncomplete: ((ev: unknown) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  onabort: ((ev: unknown) => void) | null;
}

export interface IdbDatabase {
  readonly objectStoreNames: { contains(name: string): boolean };
  createObjectStore(name: string, options: { keyPath: string | string[] }): IdbObjectStore;
  transaction(storeNames: string | string[], mode: 'readonly' | 'readwrite', options?: { durability?: 'default' | 'strict' | 'relaxed' }): IdbTransaction;
  close(): void;
  onversionchange: ((ev: unknown) => void) | null;
  onclose: ((ev: unknown) => void) | null;
}

export interface IdbFactory {
  open(name: string, version?: number): IdbOpenRequest;
  deleteDatabase(name: string): IdbRequest<undefined> & { onblocked: ((ev: unknown) => void) | null };
}
