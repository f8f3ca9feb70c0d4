import type pg from 'pg';

export interface TransactionOptions {
  /**
   * A read-only transaction on one snapshot (REPEATABLE READ), for reads that take
   * several statements and must agree with each other.
   */
  readOnly?: boolean;
  /**
   * Also retry on unique_violation. Only for work whose unique keys double as
   * idempotency keys (message appends): a retry then finds the other node's row.
   */
  retryUniqueViolation?: boolean;
}

const MAX_ATTEMPTS = 5;
const SERIALIZATION_FAILURE = '40001';
const DEADLOCK_DETECTED = '40P01';
const UNIQUE_VIOLATION = '23505';

/**
 * Runs `work` in one transaction on one pooled connection: it commits fully or it
 * rolls back and rejects. Serialization failures and deadlocks (which lock ordering
 * should make impossible, but the server is the judge) are retried from the start,
 * so `work` must do nothing outside the database that cannot be repeated.
 */
export async function withTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>,
  options: TransactionOptions = {}): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const client = await pool.connect();
    let broken = false;
    try {
      await client.query(options.readOnly ? 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY' : 'BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      try {
        await client.query('ROLLBACK');
      } catch {
        broken = true; // the connection is unusable; the pool must not hand it out again
      }
      if (attempt < MAX_ATTEMPTS && isRetryable(err, options)) {
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * attempt));
        continue;
      }
      throw err;
    } finally {
      client.release(broken);
    }
  }
}

function isRetryable(err: unknown, options: TransactionOptions): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === SERIALIZATION_FAILURE || code === DEADLOCK_DETECTED || (options.retryUniqueViolation === true && code === UNIQUE_VIOLATION);
}

/** A quoted SQL identifier. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
