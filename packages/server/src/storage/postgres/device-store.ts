import type pg from 'pg';
import type { DeviceRecord, DeviceStore } from '../types.js';

interface RawDevice {
  device_id: string; platform: string; capabilities: string; protocol_version: number;
  first_seen: number; last_seen: number; acked_version: number;
}

export class PgDeviceStore implements DeviceStore {
  readonly #pool: pg.Pool;

  constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

  async touch(app: number, userID: string, device: { deviceID: string; platform: string; capabilities: string[]; protocolVersion: number }, now: number) {
    await this.#pool.query(`INSERT INTO devices (app_id, user_id, device_id, platform, capabilities, protocol_version, first_seen, last_seen)
      VALUES ($1, $2, $3, $4, $5, $6, $7, $7) ON CONFLICT (app_id, user_id, device_id) DO UPDATE SET platform = excluded.platform,
      capabilities = excluded.capabilities, protocol_version = excluded.protocol_version, last_seen = excluded.last_seen`,
    [app, userID, device.deviceID, device.platform, JSON.stringify(device.capabilities), device.protocolVersion, now]);
  }

  async ack(app: number, userID: string, deviceID: string, version: number, now: number) {
    // One statement: concurrent acks from two nodes keep the higher version.
    await this.#pool.query(`UPDATE devices SET acked_version = greatest(acked_version, $1), last_seen = $2
      WHERE app_id = $3 AND user_id = $4 AND device_id = $5`, [version, now, app, userID, deviceID]);
  }

  async prune(app: number, userID: string, keep: number, deviceID: string): Promise<string[]> {
    // One statement; two nodes pruning the same user at once delete the same rows.
    const { rows } = await this.#pool.query<{ device_id: string }>(`DELETE FROM devices WHERE app_id = $1 AND user_id = $2 AND device_id <> $3
      AND device_id NOT IN (SELECT device_id FROM devices WHERE app_id = $1 AND user_id = $2 AND device_id <> $3
        ORDER BY last_seen DESC, device_id LIMIT $4)
      RETURNING device_id`, [app, userID, deviceID, Math.max(0, keep - 1)]);
    return rows.map((r) => r.device_id).sort();
  }

  async list(app: number, userID: string): Promise<DeviceRecord[]> {
    const { rows } = await this.#pool.query<RawDevice>(`SELECT ${DEVICE_COLUMNS} FROM devices
      WHERE app_id = $1 AND user_id = $2 ORDER BY first_seen, device_id`, [app, userID]);
    return rows.map(toDevice);
  }

  async listMany(app: number, userIDs: string[]): Promise<Map<string, DeviceRecord[]>> {
    const ids = [...new Set(userIDs)];
    const byUser = new Map<string, DeviceRecord[]>(ids.map((id) => [id, []]));
    if (ids.length === 0) return byUser;
    const { rows } = await this.#pool.query<RawDevice & { user_id: string }>(`SELECT user_id, ${DEVICE_COLUMNS} FROM devices
      WHERE app_id = $1 AND user_id = ANY($2::text[]) ORDER BY user_id, first_seen, device_id`, [app, ids]);
    for (const r of rows) byUser.get(r.user_id)?.push(toDevice(r));
    return byUser;
  }

  async page(app: number, userID: string, limit: number, afterDeviceID = ''): Promise<DeviceRecord[]> {
    const { rows } = await this.#pool.query<RawDevice>(`SELECT ${DEVICE_COLUMNS} FROM devices
      WHERE app_id = $1 AND user_id = $2 AND device_id > $3 ORDER BY device_id LIMIT $4`, [app, userID, afterDeviceID, limit]);
    return rows.map(toDevice);
  }
}

const DEVICE_COLUMNS = 'device_id, platform, capabilities, protocol_version, first_seen, last_seen, acked_version';

function toDevice(r: RawDevice): DeviceRecord {
  return {
    deviceID: r.device_id, platform: r.platform, capabilities: JSON.parse(r.capabilities) as string[], protocolVersion: r.protocol_version,
    firstSeen: r.first_seen, lastSeen: r.last_seen, ackedVersion: r.acked_version,
  };
}
