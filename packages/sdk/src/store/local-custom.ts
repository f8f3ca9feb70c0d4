/**
 * Local custom fields of a cached message (`setLocalCustomData` / `setLocalCustomInt`):
 * kept on this device only, so a message the server sends again (a history page, a
 * catch-up) must not wipe them. Every store merges through `keepLocalFields` when it
 * replaces a cached message with the same msgID.
 */
import type { LocalCustomPatch, StoredMessage } from './types.js';

export function keepLocalFields(next: StoredMessage, old: StoredMessage | undefined): StoredMessage {
  if (!old) return next;
  const out = next;
  if (out.localCustomData === undefined && old.localCustomData !== undefined) out.localCustomData = old.localCustomData;
  if (out.localCustomInt === undefined && old.localCustomInt !== undefined) out.localCustomInt = old.localCustomInt;
  return out;
}

export function withLocalCustom(m: StoredMessage, patch: LocalCustomPatch): StoredMessage {
  const out = { ...m };
  if (patch.localCustomData !== undefined) out.localCustomData = patch.localCustomData;
  if (patch.localCustomInt !== undefined) out.localCustomInt = patch.localCustomInt;
  return out;
}
