/**
 * The one error catalogue. Numbers are the reference's (Tencent Cloud Chat) where a
 * matching condition exists there, so an app migrating from it keeps its error
 * handling; `docs/errors.md` lists every entry and a test keeps the two in step.
 *
 * A code is a contract: never renumber one, only add.
 */
export const ErrorCode = {
  /** A batch call in which no item succeeded. */
  NO_SUCCESS_RESULT: 6003,
  /** The conversation ID names nothing this user can act on. */
  INVALID_CONVERSATION: 6004,
  /** The server did not answer in time; the request may or may not have been applied. */
  REQUEST_TIMEOUT: 6012,
  /** A file download or upload was refused: its signature is wrong or expired, or the file is not the caller's to see. */
  FILE_TRANS_AUTH_FAILED: 6006,
  /** The upload failed on the server (storage error); nothing was kept. */
  FILE_TRANS_UPLOAD_FAILED: 6008,
  /** The file could not be downloaded: it does not exist (any more). */
  FILE_TRANS_DOWNLOAD_FAILED: 6009,
  /** `initSDK` was not called. */
  SDK_NOT_INITIALIZED: 6013,
  /** The call needs a logged-in user. */
  NOT_LOGGED_IN: 6014,
  /** The same operation is already running; wait for it. */
  IN_PROGRESS: 6015,
  /** A parameter is missing, of the wrong type or out of range. */
  INVALID_PARAMETERS: 6017,
  /** A message element is invalid: a media element names a file the sender did not upload, of another kind, or already used. */
  INVALID_MSG_ELEM: 6016,
  /** The local store failed to read or write. */
  LOCAL_STORE_FAILED: 6019,
  /** A frame was not valid JSON. */
  INVALID_JSON: 6027,
  /** The UserSig expired while logged in; log in again with a new one. */
  USER_SIG_EXPIRED_LOCAL: 6206,
  /** Another login with the same device ID replaced this one, or a newer login of the user went over the session limit. */
  KICKED_OFF_BY_OTHER: 6208,
  /** An image upload is not an image the server can read. */
  IMAGE_UPLOAD_FAILED_NOTIMAGE: 6031,
  /** A user ID is empty, too long or has characters outside [A-Za-z0-9_.@-]. */
  INVALID_IDENTIFIER: 7003,
  /** A local file to send does not exist. */
  FILE_NOT_FOUND: 7004,
  /** A file is larger than its kind allows (images and sounds 28 MB, videos and files 100 MB). */
  FILE_TOO_LARGE: 7005,
  /** A file to send is empty. */
  FILE_SIZE_EMPTY: 7006,
  /** A local file to send could not be read. */
  FILE_OPEN_FAILED: 7007,
  /** The app has not turned this feature on (group read receipts: the app setting `groupReadReceipt`). */
  INTERFACE_NOT_SUPPORT: 7013,
  /** `login` was called while a login is already running. */
  LOGIN_IN_PROCESS: 7501,
  /** A message body is larger than the app's limit (12 KiB by default). */
  MESSAGE_TOO_LARGE: 8001,
  /** A merger message nests more than 100 levels of merged messages. */
  MERGER_MSG_LAYERS_OVER_LIMIT: 8005,
  /** A group ID is malformed. */
  INVALID_GROUP_ID: 8501,
  /** The user sent more requests per second than the server allows; the request was not applied. */
  REQUEST_RATE_LIMIT: 9506,
  /** The connection is down; the request was not sent. */
  NETWORK_DISCONNECTED: 9508,
  /** The request was sent but the connection dropped before the answer; it may have been applied. */
  NETWORK_WAIT_ACK_TIMEOUT: 9520,
  /** A frame is larger than the 1 MiB limit. */
  PACKET_TOO_LARGE: 9522,

  /** A group operation had invalid parameters. */
  GROUP_INVALID_PARAMETERS: 10004,
  /** The caller is not a member of the group, or lacks the role the operation needs. */
  GROUP_PERMISSION_DENIED: 10007,
  /** The owner cannot leave a Work or Public group; transfer or dismiss it. */
  GROUP_OWNER_CANNOT_QUIT: 10009,
  /** The group does not exist or was dismissed. */
  GROUP_NOT_FOUND: 10010,
  /** The user is already a member. */
  GROUP_ALREADY_MEMBER: 10013,
  /** The group has reached its member limit. */
  GROUP_FULL: 10014,
  /** The group ID is already in use. */
  GROUP_ID_IN_USE: 10021,
  /** A group message can no longer be recalled: the app's recall window (2 minutes by default) has passed. */
  GROUP_MSG_REVOKE_TIME_LIMIT: 10031,
  /** The user is a member of as many groups as the app allows. */
  GROUP_JOIN_LIMIT: 10037,
  /** A new group would hold more members than the app allows. */
  GROUP_MEMBER_LIMIT: 10038,
  /** The sender is muted in the group (for a time, or the whole group is muted). */
  GROUP_MEMBER_MUTED: 10017,
  /** The group application was already handled (accepted or refused), or no longer exists. */
  GROUP_REQUEST_HANDLED: 10024,

  /** The receiver of a one-to-one message does not exist. */
  UNKNOWN_RECEIVER: 20003,
  /** The receiver of a one-to-one message has the sender in their blocklist. */
  BLOCKED_BY_RECEIVER: 20007,
  /** A one-to-one message can no longer be recalled: the app's recall window (2 minutes by default) has passed. */
  MSG_REVOKE_TIME_LIMIT: 20016,
  /** The message does not exist, or the caller cannot see it (deleted for the caller, or outside the caller's history). */
  MSG_NOT_FOUND: 20026,
  /** The message was changed (edited or recalled) after the version the modification was based on; nothing was changed. */
  MSG_MODIFY_CONFLICT: 22000,

  /** A friend operation had invalid parameters. */
  FRIEND_INVALID_PARAMETERS: 30001,
  /** The account does not exist. */
  FRIEND_ACCOUNT_NOT_FOUND: 30003,
  /** The caller has as many friends as the app allows. */
  FRIEND_LIMIT: 30010,
  /** The other user has as many friends as the app allows. */
  PEER_FRIEND_LIMIT: 30014,
  /** The two users are not friends. */
  NOT_FRIENDS: 31704,
  /** The peer is in the caller's blocklist: no friend request to them. */
  FRIEND_PEER_IN_MY_BLOCKLIST: 30515,
  /** The peer's allowType refuses every friend request (V2TIM_FRIEND_DENY_ANY). */
  FRIEND_PEER_DENIES_ALL: 30516,
  /** The caller is in the peer's blocklist: no friend request to them. */
  FRIEND_IN_PEER_BLOCKLIST: 30525,
  /** Not a failure: the friend request waits for the peer's confirmation (V2TIM_FRIEND_NEED_CONFIRM). */
  FRIEND_APPLICATION_PENDING: 30539,
  /** No such friend application (already accepted, refused or deleted). */
  FRIEND_APPLICATION_NOT_FOUND: 30614,

  /** The account is not imported (REST conversation APIs). */
  CONV_ACCOUNT_NOT_FOUND: 50001,
  /** Invalid parameters (REST conversation APIs). */
  CONV_INVALID_PARAMETERS: 50002,
  /** The REST identifier is not an app admin (REST conversation APIs). */
  CONV_ADMIN_REQUIRED: 50003,
  /** Too many conversations in one request (max 100). */
  TOO_MANY_CONVERSATIONS: 51006,
  /** Confab: no deletion of this conversation can be undone (none, already undone, or its undo window closed). */
  NOTHING_TO_UNDO: 51012,
  /** Confab: a resent message (same clientMsgID) that its sender has since deleted; it is not sent again. */
  MESSAGE_DELETED: 51013,

  /** Bad HTTP URL for the REST API. */
  REST_BAD_URL: 60002,
  /** REST request body is not valid JSON. */
  REST_INVALID_JSON: 60003,
  /** Unknown SDKAppID in a REST request. */
  REST_INVALID_SDKAPPID: 60006,
  /** The REST identifier is not an app admin. */
  REST_ADMIN_REQUIRED: 60010,
  /** The server is overloaded; retry later. */
  SERVER_OVERLOADED: 60022,

  /** The UserSig expired. */
  USER_SIG_EXPIRED: 70001,
  /** The UserSig is empty. */
  USER_SIG_EMPTY: 70002,
  /** The UserSig could not be decoded. */
  USER_SIG_INVALID: 70003,
  /** The UserSig signature does not match the app's key (forged or wrong key). */
  USER_SIG_KEY_MISMATCH: 70009,
  /** The UserSig was issued for another user. */
  USER_SIG_IDENTIFIER_MISMATCH: 70013,
  /** The UserSig was issued for another app. */
  USER_SIG_SDKAPPID_MISMATCH: 70014,
  /** The SDKAppID does not exist on this server. */
  SDKAPPID_NOT_FOUND: 70020,
  /** Too many failed logins from this address; logins are refused for about a minute. */
  LOGIN_FAILURE_LIMIT: 70050,
  /** The account does not exist. */
  ACCOUNT_NOT_FOUND: 70107,
  /** The server failed; the request was not applied. Retry. */
  SERVER_INTERNAL: 70500,

  /** The message body is larger than the server accepts. */
  SERVER_MESSAGE_TOO_LARGE: 80002,
} as const;

export type ErrorCodeName = keyof typeof ErrorCode;
export type ErrorCodeNumber = (typeof ErrorCode)[ErrorCodeName];

const namesByNumber = new Map<number, ErrorCodeName>(
  (Object.entries(ErrorCode) as [ErrorCodeName, number][]).map(([name, code]) => [code, name]),
);

/** The catalogue name of a code, or undefined for a code this version does not know. */
export function errorCodeName(code: number): ErrorCodeName | undefined {
  return namesByNumber.get(code);
}

/**
 * The one error class of server, SDK and protocol. `code` is stable and numeric;
 * `desc` is for people and may change between versions.
 */
export class ConfabError extends Error {
  readonly code: number;
  readonly desc: string;

  constructor(code: number, desc: string, options?: { cause?: unknown }) {
    super(`${desc} (${code})`, options);
    this.name = 'ConfabError';
    this.code = code;
    this.desc = desc;
  }

  toJSON(): { code: number; desc: string } {
    return { code: this.code, desc: this.desc };
  }
}

export function isConfabError(err: unknown): err is ConfabError {
  return err instanceof ConfabError ||
    (typeof err === 'object' && err !== null && (err as { name?: unknown }).name === 'ConfabError' &&
      typeof (err as { code?: unknown }).code === 'number');
}
