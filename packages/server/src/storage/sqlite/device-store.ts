import type Database from 'better-sqlite3';
import type { DeviceRecord, DeviceStore } from '../types.js';

interface RawDevice {
  device_id: string; platform: string; capabilities: string; protocol_version: number;
  first_seen: number; last_seen: number; acked_version: number;
}

function toDevice(r: RawDevice): DeviceRecord {
  return {
    deviceID: r.device_id, platform: r.platform, capabilities: JSON.parse(r.capabilities) as string[], protocolVersion: r.protocol_version,
    firstSeen: r.first_seen, lastSeen: r.last_seen, ackedVersion: r.acked_version,
  };
}

export class SqliteDeviceStore implements DeviceStore {
  readonly #s;

  constructor(db: Database.Database) {
    this.#s = {
      touch: db.prepare(`INSERT INTO devices (app_id, user_id, device_id, platform, capabilities, protocol_version, first_seen, last_seen)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (app_id, user_id, device_id) DO UPDATE SET platform = excluded.platform,
        capabilities = excluded.capabilities, protocol_version = excluded.protocol_version, last_seen = excluded.last_seen`),
      ack: db.prepare('UPDATE devices SET acked_version = max(acked_version, ?), last_seen = ? WHERE app_id = ? AND user_id = ? AND device_id = ?'),
      list: db.prepare('SELECT * FROM devices WHERE app_id = ? AND user_id = ? ORDER BY first_seen, device_id'),
      prune: db.prepare(`DELETE FROM devices WHERE app_id = ? AND user_id = ? AND device_id <> ? AND device_id NOT IN (
        SELECT device_id FROM devices WHERE app_id = ? AND user_id = ? AND device_id <> ? ORDER BY last_seen DESC, device_id LIMIT ?)
        RETURNING device_id`),
      page: db.prepare('SELECT * FROM devices WHERE app_id = ? AND user_id = ? AND device_id > ? ORDER BY device_id LIMIT ?'),
    };
  }

  async touch(app: number, userID: string, device: { deviceID: string; platform: string; capabilities: string[]; protocolVersion: number }, now: number) {
    this.#s.touch.run(app, userID, device.deviceID, device.platform, JSON.stringify(device.capabilities), device.protocolVersion, now, now);
  }

  async ack(app: number, userID: string, deviceID: string, version: number, now: number) {
    this.#s.ack.run(version, now, app, userID, deviceID);
  }

  async prune(app: number, userID: string, keep: number, deviceID: string): Promise<string[]> {
    const rows = this.#s.prune.all(app, userID, deviceID, app, userID, deviceID, Math.max(0, keep - 1)) as { device_id: string }[];
    return rows.map((r) => r.device_id).sort();
  }

  async list(app: number, userID: string): Promise<DeviceRecord[]> {
    return (this.#s.list.all(app, userID) as RawDevice[]).map(toDevice);
  }

  async listMany(app: number, userIDs: string[]): Promise<Map<string, DeviceRecord[]>> {
    // In-process reads: one statement per user costs no round trip, and runs without yielding.
    return new Map([...new Set(userIDs)].map((id) => [id, (this.#s.list.all(app, id) as RawDevice[]).map(toDevice)]));
  }

  async page(app: number, userID: string, limit: number, afterDeviceID = ''): Promise<DeviceRecord[]> {
    return (this.#s.page.all(app, userID, afterDeviceID, limit) as RawDevice[]).map(toDevice);
  }
}
