import { ConfabError, ErrorCode } from './errors.js';

/**
 * User IDs: 1..32 bytes of [A-Za-z0-9_.@-]. The reference documents letters, digits,
 * underscore and hyphen; we also allow `.` and `@` so e-mail-like IDs migrate. The
 * narrow set keeps `|` and `/` free for the server's internal keys.
 */
const USER_ID = /^[A-Za-z0-9_.@-]{1,32}$/;

/**
 * Group IDs: 1..48 bytes of [A-Za-z0-9_.@#-]. Server-generated IDs start with `@TGS#`
 * as in the reference; an app may not choose an ID with that prefix.
 */
const GROUP_ID = /^[A-Za-z0-9_.@#-]{1,48}$/;
export const GENERATED_GROUP_ID_PREFIX = '@TGS#';

export function isValidUserID(id: unknown): id is string {
  return typeof id === 'string' && USER_ID.test(id);
}

export function isValidGroupID(id: unknown): id is string {
  return typeof id === 'string' && GROUP_ID.test(id);
}

export function assertUserID(id: unknown, what = 'userID'): asserts id is string {
  if (!isValidUserID(id)) {
    throw new ConfabError(ErrorCode.INVALID_IDENTIFIER,
      `${what} must be 1-32 characters of A-Z a-z 0-9 _ . @ -, got ${JSON.stringify(id)}`);
  }
}

export function assertGroupID(id: unknown, what = 'groupID'): asserts id is string {
  if (!isValidGroupID(id)) {
    throw new ConfabError(ErrorCode.INVALID_GROUP_ID,
      `${what} must be 1-48 characters of A-Z a-z 0-9 _ . @ # -, got ${JSON.stringify(id)}`);
  }
}
