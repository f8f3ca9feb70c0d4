/**
 * Results and errors in the Web SDK's shape: every promise resolves `{ code: 0, data }`
 * and rejects with a `ChatError { code, message }` — the reference rejects with an Error
 * subclass carrying `code`, so `err.code` and `err instanceof Error` both hold.
 *
 * Codes: the core speaks the native SDK's codes (6014, 9508 …); the Web SDK has its own
 * for the same conditions (2024, 2800 …), translated here. Server codes (10010, 20003,
 * 70001 …) pass through unchanged, as they do from the reference.
 */
import { ErrorCode, isConfabError } from '@confab/protocol';
import { ERROR_CODE } from './constants.js';

export interface ChatResponse<T> {
  code: 0;
  data: T;
}

export class ChatError extends Error {
  readonly code: number;
  /** Set by sendMessage/resendMessage: the message that failed (the reference's `error.data.message`). */
  data?: unknown;

  constructor(code: number, message: string, options?: { cause?: unknown; data?: unknown }) {
    super(message, options?.cause !== undefined ? { cause: options.cause } : undefined);
    this.name = 'ChatError';
    this.code = code;
    if (options?.data !== undefined) this.data = options.data;
  }
}

export function ok<T>(data: T): ChatResponse<T> {
  return { code: 0, data };
}

/**
 * Native code → Web code. Example: a call made while the socket is down fails in the core
 * with 9508; an app written for the Web SDK checks for 2800 NETWORK_ERROR.
 */
const WEB_CODE: ReadonlyMap<number, number> = new Map<number, number>([
  [ErrorCode.SDK_NOT_INITIALIZED, ERROR_CODE.USER_NOT_LOGGED_IN],
  [ErrorCode.NOT_LOGGED_IN, ERROR_CODE.USER_NOT_LOGGED_IN],
  [ErrorCode.LOGIN_IN_PROCESS, ERROR_CODE.REPEAT_LOGIN],
  [ErrorCode.USER_SIG_EMPTY, ERROR_CODE.NO_USERSIG],
  [ErrorCode.NETWORK_DISCONNECTED, ERROR_CODE.NETWORK_ERROR],
  [ErrorCode.NETWORK_WAIT_ACK_TIMEOUT, ERROR_CODE.NETWORK_TIMEOUT],
  [ErrorCode.REQUEST_TIMEOUT, ERROR_CODE.NETWORK_TIMEOUT],
  [ErrorCode.KICKED_OFF_BY_OTHER, ERROR_CODE.KICKED_OUT_MULT_DEVICE],
  [ErrorCode.USER_SIG_EXPIRED_LOCAL, ERROR_CODE.KICKED_OUT_USERSIG_EXPIRED],
  [ErrorCode.INVALID_GROUP_ID, ERROR_CODE.ILLEGAL_GRP_ID],
  [ErrorCode.INVALID_CONVERSATION, ERROR_CODE.CONV_NOT_FOUND],
  // The Web SDK has no local size check; the server's code is what its apps see.
  [ErrorCode.MESSAGE_TOO_LARGE, ErrorCode.SERVER_MESSAGE_TOO_LARGE],
]);

/** Anything thrown by the core (or by this package) as a ChatError with the Web SDK's code. */
export function toChatError(err: unknown): ChatError {
  if (err instanceof ChatError) return err;
  if (isConfabError(err)) {
    const e = err as { code: number; desc?: string; message?: string };
    const code = WEB_CODE.get(e.code) ?? e.code;
    return new ChatError(code, e.desc ?? e.message ?? 'error', { cause: err });
  }
  return new ChatError(ERROR_CODE.UNCAUGHT_ERROR, `uncaught error: ${(err as Error)?.message ?? String(err)}`, { cause: err });
}

/** A bad argument. The reference throws a code-less "Params validate failed." here; a code lets apps branch. */
export function invalidParams(message: string): ChatError {
  return new ChatError(ErrorCode.INVALID_PARAMETERS, `Params validate failed. ${message}`);
}

/**
 * A method of the reference's Web SDK that Confab does not offer yet: 3122 NO_USE, the
 * reference's code for an ability the app's service does not include.
 */
export function notSupported(api: string): ChatError {
  return new ChatError(ERROR_CODE.NO_USE, `${api} is not supported by this Confab server yet`);
}
