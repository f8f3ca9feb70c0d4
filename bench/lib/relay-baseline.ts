/**
 * The ceiling Confab's messaging is measured against: a bare `ws` relay that stores each
 * message durably before acknowledging it, and nothing else. No auth, no conversations,
 * no unread counts, no sync versions: it parses the frame, group-commits the message to
 * SQLite (WAL, synchronous=FULL, one transaction per event-loop turn's worth of
 * messages), then acks the sender and pushes the message to the receiver.
 *
 * It speaks just enough of Confab's frame shapes (`login`, `msg.send`, replies
 * `{"id":..,"ok":..}`, pushes `{"push":..}`) for the same load generator to drive both.
 */
import Database from 'better-sqlite3';
import { WebSocketServer, type WebSocket } from 'ws';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

interface Pending {
  ws: WebSocket;
  id: number;
  sender: string;
  receiver: string;
  clientMsgID: string;
  elem: string;
}

export async function startRelay(dataDir: string): Promise<{ url: string; close(): Promise<void> }> {
  const db = new Database(join(dataDir, 'relay.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec(`CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY, sender TEXT NOT NULL, receiver TEXT NOT NULL,
    client_msg_id TEXT NOT NULL, created_at INTEGER NOT NULL, elem TEXT NOT NULL)`);
  const insert = db.prepare('INSERT INTO messages (sender, receiver, client_msg_id, created_at, elem) VALUES (?, ?, ?, ?, ?)');
  const commit = db.transaction((batch: Pending[], now: number) => batch.map((m) => Number(insert.run(m.sender, m.receiver, m.clientMsgID, now, m.elem).lastInsertRowid)));

  const users = new Map<string, WebSocket>();
  let queue: Pending[] = [];
  let scheduled = false;
  const flush = (): void => {
    scheduled = false;
    const batch = queue;
    queue = [];
    const now = Date.now();
    const ids = commit(batch, now);
    batch.forEach((m, i) => {
      m.ws.send(`{"id":${m.id},"ok":true,"body":{"seq":${ids[i]}}}`);
      users.get(m.receiver)?.send(`{"push":"message","body":{"sender":${JSON.stringify(m.sender)},"clientMsgID":${JSON.stringify(m.clientMsgID)},"createdAt":${now},"elem":${m.elem}}}`);
    });
  };

  const http = createServer();
  const wss = new WebSocketServer({ server: http, path: '/ws', perMessageDeflate: false });
  wss.on('connection', (ws) => {
    let userID = '';
    ws.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as { id: number; op: string; body: { userID?: string; conversationID?: string; clientMsgID?: string; elem?: unknown } };
      if (frame.op === 'login') {
        userID = String(frame.body.userID);
        users.set(userID, ws);
        ws.send(`{"id":${frame.id},"ok":true,"body":{}}`);
        return;
      }
      if (frame.op !== 'msg.send' || !userID) {
        ws.send(`{"id":${frame.id},"ok":false,"code":6017,"desc":"unsupported"}`);
        return;
      }
      queue.push({ ws, id: frame.id, sender: userID, receiver: String(frame.body.conversationID).slice(4), clientMsgID: String(frame.body.clientMsgID), elem: JSON.stringify(frame.body.elem) });
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    });
    ws.on('close', () => { if (users.get(userID) === ws) users.delete(userID); });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}/ws`,
    close: async () => {
      for (const ws of wss.clients) ws.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await new Promise<void>((resolve) => http.close(() => resolve()));
      db.close();
    },
  };
}
