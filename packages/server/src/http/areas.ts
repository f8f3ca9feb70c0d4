import type { Logger } from 'pino';
import type { Gateway } from '../gateway/gateway.js';
import type { Domain } from '../services/domain.js';
import type { Router } from './router.js';
import { registerAdminApi } from './admin/routes.js';
import { registerConsole } from './console.js';
import { registerRestApi } from './rest/index.js';
import { registerFiles } from './files.js';

export interface HttpContext {
  domain: Domain;
  gateway: Gateway;
  logger: Logger;
  /** The operator's admin token; undefined turns operator sign-in off. */
  adminToken: string | undefined;
}

/**
 * Every HTTP area of the server registers its routes here: one line per area, so
 * adding one (REST API, admin API, console) never touches the server's wiring.
 */
export const httpAreas: ((router: Router, ctx: HttpContext) => void)[] = [
  registerRestApi,
  registerAdminApi,
  registerConsole,
  registerFiles,
];
