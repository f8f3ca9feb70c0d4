/**
 * The reference's callback objects, and the one helper every async method goes through.
 *
 * Two calling styles, both supported by every method:
 *
 * ```ts
 * // Promise style: rejects with ConfabError
 * const list = await conv.getConversationList(0, 50);
 * // Callback style (the reference's): the returned promise never rejects, so an app that
 * // ignores it does not get an "unhandled rejection" crash on Node.
 * conv.getConversationList(0, 50, { onSuccess: (r) => …, onError: (code, desc) => … });
 * ```
 */
import { ConfabError, ErrorCode, isConfabError } from '@confab/protocol';

/** The reference's `V2TIMCallback` / `V2TIMValueCallback<T>`. */
export interface V2TIMValueCallback<T = void> {
  onSuccess?(value: T): void;
  onError?(code: number, desc: string): void;
}
export type V2TIMCallback = V2TIMValueCallback<void>;

/**
 * The return type of a method given callback type `C`: without a callback the promise
 * yields `T` (or rejects); with one it yields `T | undefined` and never rejects.
 */
export type CallbackResult<T, C> = Promise<undefined extends C ? T : T | undefined>;

/**
 * Turns anything thrown into a ConfabError. Errors the SDK did not create (a bug, or an
 * app listener throwing) get 6017 with the original as `cause`; the catalogue has no
 * "internal SDK error" code yet.
 */
export function toConfabError(err: unknown): ConfabError {
  if (err instanceof ConfabError) return err;
  if (isConfabError(err)) {
    const e = err as { code: number; desc?: string; message?: string };
    return new ConfabError(e.code, e.desc ?? e.message ?? 'error', { cause: err });
  }
  return new ConfabError(ErrorCode.INVALID_PARAMETERS, `internal error: ${(err as Error)?.message ?? String(err)}`, { cause: err });
}

/**
 * Runs `work` and settles `cb` (if any). Synchronous throws inside `work` (validation) are
 * caught too, so `sendMessage(emptyText)` reports 6017 through the same path as a server error.
 */
export function withCallback<T>(
  cb: V2TIMValueCallback<T> | undefined,
  work: () => Promise<T> | T,
): Promise<never> {
  // Typed `Promise<never>` so each method's declared `CallbackResult<T, C>` decides what the
  // caller sees; `T` still ties `work`'s result to the callback's value type.
  let promise: Promise<T>;
  try {
    promise = Promise.resolve(work());
  } catch (err) {
    promise = Promise.reject(err);
  }
  if (!cb) {
    return promise.catch((err: unknown) => {
      throw toConfabError(err);
    }) as Promise<never>;
  }
  return promise.then(
    (value) => {
      safeCall(() => cb.onSuccess?.(value));
      return value;
    },
    (err: unknown) => {
      const e = toConfabError(err);
      safeCall(() => cb.onError?.(e.code, e.desc));
      return undefined;
    },
  ) as Promise<never>;
}

/**
 * Calls app code (a callback or listener) so that its exceptions do not break the SDK:
 * a listener throwing inside `onRecvNewMessage` must not stop the sync engine from
 * committing the next update. The error is printed with console.error (rethrowing it would
 * crash a Node app over a UI bug, which the reference's SDKs do not do either).
 */
export function safeCall(fn: () => void): void {
  try {
    fn();
  } catch (err) {
    console.error('[confab] an app callback or listener threw:', err);
  }
}

/**
 * The reference's `V2TIMCompleteCallback<T>`: one call whatever the outcome, with the
 * value in both cases (`modifyMessage` hands back the current message on a conflict).
 */
export interface V2TIMCompleteCallback<T> {
  onComplete?(code: number, desc: string, value: T): void;
}

/**
 * Runs `work`, which resolves with the value or rejects with `{ error, value }` (a failure
 * that still has a value to report), and settles `cb`. Without a callback the promise
 * resolves with the value or rejects with the ConfabError.
 */
export function withCompleteCallback<T>(
  cb: V2TIMCompleteCallback<T> | undefined,
  fallback: T,
  work: () => Promise<T>,
): Promise<T> {
  const run = (async () => work())();
  if (!cb) {
    return run.catch((err: unknown) => {
      throw toConfabError((err as { error?: unknown })?.error ?? err);
    });
  }
  return run.then(
    (value) => {
      safeCall(() => cb.onComplete?.(0, '', value));
      return value;
    },
    (err: unknown) => {
      const failure = err as { error?: unknown; value?: T };
      const e = toConfabError(failure?.error ?? err);
      const value = failure && 'value' in failure && failure.value !== undefined ? failure.value : fallback;
      safeCall(() => cb.onComplete?.(e.code, e.desc, value));
      return value;
    },
  );
}
