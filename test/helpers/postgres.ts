import pg from 'pg';

/** The PostgreSQL the cluster and storage tests use; each test makes its own schema in it. */
export const TEST_DATABASE_URL = process.env.CONFAB_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** Undefined when PostgreSQL answers; otherwise why the tests that need it are skipped (a failure in CI). */
export async function postgresMissing(): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return undefined;
  } catch (err) {
    return `needs PostgreSQL (${(err as Error).message}); start it or set CONFAB_TEST_DATABASE_URL`;
  } finally {
    await client.end().catch(() => undefined);
  }
}
