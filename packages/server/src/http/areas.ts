import type { Logger } from 'pino';
import type { Gateway } from '../gateway/gateway.js';
import type { Domain } from '../services/domain.js';
import type { Router } from './router.js';

export interface HttpContext {
  domain: Domain;
  gateway: Gateway;
  logger: Logger;
}

/**
 * Every HTTP area of the server registers its routes here: one line per area, so
 * adding one (REST API, admin API, console) never touches the server's wiring.
 */
export const httpAreas: ((router: Router, ctx: HttpContext) => void)[] = [];
