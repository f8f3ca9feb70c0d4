import type { ServerResponse } from 'node:http';
import { ConfabError, ErrorCode, isConfabError } from '@confab/protocol';
import type { Logger } from 'pino';
import type { AppRecord } from '../../storage/types.js';
import type { Caller } from '../../services/context.js';
import type { Domain } from '../../services/domain.js';
import { sendJson } from '../router.js';

/**
 * The reference's REST envelope: every answer is HTTP 200 with `ActionStatus`,
 * `ErrorCode`, `ErrorInfo` and `ErrorDisplay`, then the command's own fields.
 */
export type RestFields = Record<string, unknown>;

/** What a command handler gets: the authenticated app and the domain services. */
export interface RestContext {
  domain: Domain;
  app: AppRecord;
  logger: Logger;
}

/** A command: reads its JSON body, calls the domain services, returns its response fields or throws a ConfabError. */
export type RestCommand = (ctx: RestContext, body: Record<string, unknown>) => Promise<RestFields>;

export function sendOk(res: ServerResponse, fields: RestFields = {}): void {
  sendJson(res, 200, { ActionStatus: 'OK', ErrorCode: 0, ErrorInfo: '', ErrorDisplay: '', ...fields });
}

export function sendFail(res: ServerResponse, code: number, info: string, headers: Record<string, string> = {}): void {
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  sendJson(res, 200, { ActionStatus: 'FAIL', ErrorCode: code, ErrorInfo: info, ErrorDisplay: '' });
}

/** Any thrown value as a FAIL envelope: a ConfabError keeps its code, anything else is 70500 and logged. */
export function sendError(res: ServerResponse, err: unknown, logger: Logger): void {
  if (isConfabError(err)) {
    sendFail(res, err.code, err.desc);
    return;
  }
  logger.error({ err }, 'REST request failed');
  sendFail(res, ErrorCode.SERVER_INTERNAL, 'internal server error; the request was not applied');
}

/**
 * The identity a REST command acts as: the admin acting for `userID`. The device ID
 * `rest` shows up in the deletion audit trail and in deletion notices; REST declares
 * no client capabilities.
 */
export function callerFor(app: AppRecord, userID: string): Caller {
  return { app, userID, deviceID: 'rest', capabilities: new Set() };
}

export function restError(code: number, desc: string): ConfabError {
  return new ConfabError(code, desc);
}
