/** A REST caller for tests: the admin's signed URL, the envelope checks. */
import assert from 'node:assert/strict';
import type { AppRecord, ConfabServer } from '@confab/server';

export interface Envelope {
  ActionStatus: 'OK' | 'FAIL';
  ErrorCode: number;
  ErrorInfo: string;
  ErrorDisplay: string;
  [field: string]: unknown;
}

export type Query = Partial<Record<'sdkappid' | 'identifier' | 'usersig' | 'random' | 'contenttype', string | null>>;

export class RestCaller {
  #random = 1;
  constructor(readonly server: ConfabServer, readonly app: AppRecord, readonly adminSig: string) {}

  static async create(server: ConfabServer, app: AppRecord): Promise<RestCaller> {
    return new RestCaller(server, app, await server.genUserSig(app.sdkAppID, app.adminUserID));
  }

  url(command: string, query: Query = {}): string {
    const params: Record<string, string | null> = {
      sdkappid: String(this.app.sdkAppID), identifier: this.app.adminUserID, usersig: this.adminSig,
      random: String(this.#random++), contenttype: 'json', ...query,
    };
    const search = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) if (v !== null) search.set(k, v);
    return `${this.server.httpUrl}/v4/${command}?${search}`;
  }

  async call(command: string, body: unknown, query: Query = {}): Promise<Envelope> {
    const res = await fetch(this.url(command, query), { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body) });
    assert.equal(res.status, 200);
    return (await res.json()) as Envelope;
  }

  async ok(command: string, body: unknown, query: Query = {}): Promise<Envelope> {
    const json = await this.call(command, body, query);
    assert.equal(json.ActionStatus, 'OK', `${command} failed: ${JSON.stringify(json)}`);
    assert.equal(json.ErrorCode, 0);
    return json;
  }

  async fails(command: string, body: unknown, code: number, query: Query = {}): Promise<Envelope> {
    const json = await this.call(command, body, query);
    assert.equal(json.ActionStatus, 'FAIL', `${command} should have failed with ${code}: ${JSON.stringify(json)}`);
    assert.equal(json.ErrorCode, code, `${command}: ${json.ErrorInfo}`);
    return json;
  }
}

export function textBody(text: string) {
  return [{ MsgType: 'TIMTextElem', MsgContent: { Text: text } }];
}
