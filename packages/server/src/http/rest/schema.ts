import { ConfabError } from '@confab/protocol';
import { z } from 'zod';

/**
 * REST bodies are checked with zod, as the gateway's frames and the admin API are.
 * Field names are the reference's, case-sensitive. Object schemas strip unknown fields
 * rather than refusing them: the reference ignores fields it does not know, and app back
 * ends send extras (`MsgLifeTime`, `ForbidCallbackControl`, …) that Confab has no use for.
 */
export { z };

/** An unsigned integer up to `max` (the largest safe integer by default). */
export const uint = (max = Number.MAX_SAFE_INTEGER) => z.number().int().min(0).max(max);

/** A string field; the UserID format is checked by the command, which picks the reference's code for it. */
export const str = z.string();

/** `body` checked against `schema`; the first problem becomes a ConfabError with the service family's `code`. */
export function parseBody<T extends z.ZodType>(schema: T, body: unknown, code: number): z.infer<T> {
  const checked = schema.safeParse(body);
  if (checked.success) return checked.data;
  const issue = checked.error.issues[0];
  const path = issue ? issue.path.map(String).join('.') : '';
  throw new ConfabError(code, issue ? `${path || 'body'}: ${issue.message}` : 'invalid body');
}
