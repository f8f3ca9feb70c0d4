import { ConfabError, ErrorCode } from '@confab/protocol';

/**
 * The `conv.sync` cursor: where a page that ended inside version step V stopped, as
 * `(V, last conv key returned)`. The reply that carries it has `version` V-1 (the last
 * complete version), so a cursor is valid only with `sinceVersion` V-1 — a cursor sent
 * with another version is a client bug, answered 6017 rather than guessed at.
 *
 * Opaque to clients: base64url of `[V, convKey]`.
 */
export interface SyncCursor {
  version: number;
  convKey: string;
}

const MAX_CONV_KEY = 600;

export function encodeSyncCursor(cursor: SyncCursor): string {
  return Buffer.from(JSON.stringify([cursor.version, cursor.convKey])).toString('base64url');
}

export function decodeSyncCursor(cursor: string, sinceVersion: number): SyncCursor {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    parsed = undefined;
  }
  if (!Array.isArray(parsed) || parsed.length !== 2 || !Number.isSafeInteger(parsed[0]) || (parsed[0] as number) < 1
    || typeof parsed[1] !== 'string' || parsed[1].length === 0 || parsed[1].length > MAX_CONV_KEY) {
    throw new ConfabError(ErrorCode.INVALID_PARAMETERS, 'cursor is malformed: send back the cursor of a conv.sync reply unchanged');
  }
  const version = parsed[0] as number;
  if (version !== sinceVersion + 1) {
    throw new ConfabError(ErrorCode.INVALID_PARAMETERS,
      `cursor belongs to sinceVersion ${version - 1}, not ${sinceVersion}: send the version and cursor of the same reply`);
  }
  return { version, convKey: parsed[1] };
}
