import type { PurgeWorkerOptions } from './purge-worker.js';

/** Environment variables of the purge worker, with what each sets. */
export const PURGE_ENV = {
  CONFAB_PURGE_LEASE_SECONDS: 'leaseMs',
  CONFAB_RESEND_GUARD_HOURS: 'resendGuardMs',
  CONFAB_ERASE_EVERY_SECONDS: 'eraseEveryMs',
} as const;

/**
 * The purge worker's options from the environment; a variable left unset keeps the
 * default. A malformed value throws, so a typo stops the start instead of silently
 * leaving a default in place.
 */
export function purgeOptionsFromEnv(env: NodeJS.ProcessEnv): PurgeWorkerOptions {
  const options: PurgeWorkerOptions = {};
  const number = (name: keyof typeof PURGE_ENV, min: number): number | undefined => {
    const raw = env[name];
    if (raw === undefined || raw === '') return undefined;
    const value = Number(raw);
    if (!Number.isFinite(value) || value < min) throw new Error(`${name} must be a number of at least ${min}, not "${raw}"`);
    return value;
  };
  const lease = number('CONFAB_PURGE_LEASE_SECONDS', 1);
  if (lease !== undefined) options.leaseMs = lease * 1000;
  const guard = number('CONFAB_RESEND_GUARD_HOURS', 1);
  if (guard !== undefined) options.resendGuardMs = guard * 3600 * 1000;
  const erase = number('CONFAB_ERASE_EVERY_SECONDS', 1);
  if (erase !== undefined) options.eraseEveryMs = erase * 1000;
  return options;
}
