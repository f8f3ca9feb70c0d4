import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The node ID of a single node on the embedded SQLite database when none is configured:
 * made once and kept in the data folder (`node-id`), so a restarted node is the same
 * holder of its leases as before. After a crash its purge lease has not expired yet;
 * with a random ID the restarted node would wait out the TTL before purging, with this
 * one it renews its own lease at once. (A cluster's nodes are stateless and share no
 * folder: there each node is given CONFAB_NODE_ID, or takes over after the TTL.)
 */
export function persistedNodeID(dataDir: string): string {
  const file = join(dataDir, 'node-id');
  try {
    const id = readFileSync(file, 'utf8').trim();
    if (id) return id;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  mkdirSync(dataDir, { recursive: true });
  const id = randomUUID();
  writeFileSync(file, `${id}\n`, { mode: 0o644 });
  return id;
}
