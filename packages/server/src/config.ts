import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { MAX_FRAME_BYTES } from '@confab/protocol';
import { DEFAULT_LIMITS, LIMIT_ENV, type GatewayLimits } from './gateway/limits.js';

/**
 * The node's configuration, from four places, the first that sets a value winning:
 * command-line flags, the environment (`CONFAB_…`), a JSON config file (`--config path`
 * or `CONFAB_CONFIG`) and the defaults. Every value is checked here, before anything is
 * opened, and an error names the place it came from: `--port abc` and
 * `CONFAB_LOG_LEVEL=loud` stop the start with a sentence and exit code 2 instead of a
 * stack trace from Node or pino half way through the start.
 */

export class ConfigError extends Error {}

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

/** Decimal text (a flag, a variable) as a number; anything else is left for the schema to refuse. */
const asNumber = (value: unknown) => (typeof value === 'string' && /^\s*-?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?\s*$/i.test(value) ? Number(value) : value);

/** A whole number in [min, max], from a number (config file) or its decimal text (flag, environment). */
function whole(min: number, max = Number.MAX_SAFE_INTEGER): z.ZodType<number> {
  return z.preprocess(asNumber, z.number({ error: `must be a whole number from ${min}${max < Number.MAX_SAFE_INTEGER ? ` to ${max}` : ' up'}` })
    .int('must be a whole number').min(min, `must be at least ${min}`).max(max, `must be at most ${max}`)) as z.ZodType<number>;
}

/** A number ≥ min: `0.5` requests per second is a valid rate. */
function atLeast(min: number): z.ZodType<number> {
  return z.preprocess(asNumber, z.number({ error: 'must be a number' }).finite('must be a finite number').min(min, `must be at least ${min}`)) as z.ZodType<number>;
}

const positive = z.preprocess(asNumber, z.number({ error: 'must be a positive number' }).finite('must be a finite number').positive('must be a positive number'));

const text = z.string().trim().min(1, 'must not be empty');

interface Setting {
  /** Key in the config file and in `confab config print`; `limits.x` nests under "limits". */
  key: string;
  env: string;
  flag?: string;
  schema: z.ZodType<unknown>;
  /** `secret`: printed as ***; `url`: its password is. */
  mask?: 'secret' | 'url';
  default?: unknown;
}

const SETTINGS: Setting[] = [
  { key: 'port', flag: 'port', env: 'CONFAB_PORT', schema: whole(0, 65535), default: 8080 },
  { key: 'host', flag: 'host', env: 'CONFAB_HOST', schema: text, default: '127.0.0.1' },
  { key: 'dataDir', flag: 'data', env: 'CONFAB_DATA_DIR', schema: text, default: '.confab-data' },
  { key: 'logLevel', flag: 'log-level', env: 'CONFAB_LOG_LEVEL', schema: z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(', ')}` }), default: 'info' },
  { key: 'logFormat', flag: 'log-format', env: 'CONFAB_LOG_FORMAT', schema: z.enum(['auto', 'pretty', 'json'], { error: 'must be one of auto, pretty, json' }), default: 'auto' },
  // No flag: a command line is visible to every user of the machine (ps).
  { key: 'adminToken', env: 'CONFAB_ADMIN_TOKEN', schema: text, mask: 'secret' },
  { key: 'databaseUrl', flag: 'database-url', env: 'CONFAB_DATABASE_URL', schema: text.refine((v) => /^postgres(ql)?:\/\//.test(v), 'must be a postgres:// URL'), mask: 'url' },
  { key: 'databaseSchema', flag: 'database-schema', env: 'CONFAB_DATABASE_SCHEMA', schema: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must match [a-z_][a-z0-9_]* (at most 63 characters)') },
  { key: 'natsUrl', flag: 'nats-url', env: 'CONFAB_NATS_URL', schema: text, mask: 'url' },
  { key: 'natsPrefix', env: 'CONFAB_NATS_PREFIX', schema: z.string().regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/, 'must be NATS subject tokens separated by dots') },
  { key: 'busHeartbeatMs', env: 'CONFAB_BUS_HEARTBEAT_MS', schema: whole(1) },
  { key: 'nodeID', flag: 'node-id', env: 'CONFAB_NODE_ID', schema: text },
  { key: 'drainTimeoutMs', flag: 'drain-timeout-ms', env: 'CONFAB_DRAIN_TIMEOUT_MS', schema: whole(0), default: 30_000 },
  { key: 'purgeLeaseSeconds', env: 'CONFAB_PURGE_LEASE_SECONDS', schema: atLeast(1) },
  { key: 'resendGuardHours', env: 'CONFAB_RESEND_GUARD_HOURS', schema: atLeast(1) },
  { key: 'eraseEverySeconds', env: 'CONFAB_ERASE_EVERY_SECONDS', schema: atLeast(1) },
  // Media messages' files (docs/operations.md, "Files").
  { key: 'fileStore', env: 'CONFAB_FILE_STORE', schema: z.enum(['disk', 'postgres', 's3'], { error: 'must be one of disk, postgres, s3' }) },
  { key: 'fileDir', env: 'CONFAB_FILE_DIR', schema: text },
  { key: 's3.endpoint', env: 'CONFAB_S3_ENDPOINT', schema: text },
  { key: 's3.bucket', env: 'CONFAB_S3_BUCKET', schema: text },
  { key: 's3.region', env: 'CONFAB_S3_REGION', schema: text },
  { key: 's3.accessKeyId', env: 'CONFAB_S3_ACCESS_KEY_ID', schema: text },
  { key: 's3.secretAccessKey', env: 'CONFAB_S3_SECRET_ACCESS_KEY', schema: text, mask: 'secret' },
  { key: 's3.forcePathStyle', env: 'CONFAB_S3_FORCE_PATH_STYLE', schema: z.preprocess((v) => (typeof v === 'string' ? ['1', 'true', 'yes'].includes(v.trim().toLowerCase()) : v), z.boolean({ error: 'must be 1/true or 0/false' })) },
  { key: 's3.prefix', env: 'CONFAB_S3_PREFIX', schema: text },
  ...(Object.entries(LIMIT_ENV) as [keyof GatewayLimits, string][]).map(([key, env]): Setting => ({
    key: `limits.${key}`, env, schema: positive, default: DEFAULT_LIMITS[key],
  })),
];

/** The command-line flags that are settings (parseArgs options, all strings). */
export const CONFIG_FLAGS: Record<string, { type: 'string' }> = Object.fromEntries(
  [...SETTINGS.filter((s) => s.flag).map((s) => s.flag!), 'config'].map((flag) => [flag, { type: 'string' as const }]),
);

export interface NodeConfig {
  port: number;
  host: string;
  dataDir: string;
  logLevel: (typeof LOG_LEVELS)[number];
  logFormat: 'auto' | 'pretty' | 'json';
  adminToken?: string;
  databaseUrl?: string;
  databaseSchema?: string;
  natsUrl?: string;
  natsPrefix?: string;
  busHeartbeatMs?: number;
  nodeID?: string;
  /** How long a SIGTERM drain may take before the node exits anyway. */
  drainTimeoutMs: number;
  purgeLeaseSeconds?: number;
  resendGuardHours?: number;
  /** PostgreSQL: the least time between two rewrites of the tables erased rows were in. */
  eraseEverySeconds?: number;
  /** Where media files go (default: postgres with a database URL, else disk). */
  fileStore?: 'disk' | 'postgres' | 's3';
  fileDir?: string;
  s3?: { endpoint?: string; bucket?: string; region?: string; accessKeyId?: string; secretAccessKey?: string; forcePathStyle?: boolean; prefix?: string };
  limits: GatewayLimits;
}

export interface LoadedConfig {
  config: NodeConfig;
  /** Where each set value came from: `--port`, `CONFAB_PORT`, `config file x.json`, `default`. */
  sources: Record<string, string>;
  /** The config file read, if any. */
  file?: string;
}

/**
 * Reads and checks the configuration. Throws `ConfigError` naming the flag, variable
 * or file key at fault; the CLI prints it and exits with code 2.
 */
export function loadConfig(flags: Record<string, string | undefined>, env: NodeJS.ProcessEnv): LoadedConfig {
  const filePath = flags.config ?? (env.CONFAB_CONFIG || undefined);
  const fromFile = filePath ? readConfigFile(filePath, flags.config ? '--config' : 'CONFAB_CONFIG') : {};
  const out: Record<string, unknown> = {};
  const sources: Record<string, string> = {};
  for (const setting of SETTINGS) {
    const candidates: [string, unknown][] = [];
    if (setting.flag && flags[setting.flag] !== undefined) candidates.push([`--${setting.flag}`, flags[setting.flag]]);
    // An empty variable counts as unset: `CONFAB_DATABASE_URL=` in a compose file turns PostgreSQL off.
    if (env[setting.env] !== undefined && env[setting.env]!.trim() !== '') candidates.push([setting.env, env[setting.env]]);
    const fileValue = lookup(fromFile, setting.key);
    if (fileValue !== undefined) candidates.push([`"${setting.key}" in ${filePath}`, fileValue]);
    const [source, raw] = candidates[0] ?? ['default', setting.default];
    if (raw === undefined) continue;
    const parsed = setting.schema.safeParse(raw);
    if (!parsed.success) {
      const shown = typeof raw === 'string' ? raw : JSON.stringify(raw);
      const where = source.startsWith('--') ? `${source} ${shown}` : source.startsWith('CONFAB_') ? `${source}=${shown}` : `${source} (${shown})`;
      throw new ConfigError(`${where}: ${parsed.error.issues[0]?.message ?? 'invalid value'}`);
    }
    assign(out, setting.key, parsed.data);
    sources[setting.key] = source;
  }
  const config = out as unknown as NodeConfig;
  if (config.fileStore === 's3' && !config.s3?.bucket) throw new ConfigError(`${sources.fileStore}: the s3 file store needs CONFAB_S3_BUCKET ("s3.bucket")`);
  if (config.limits.frameCeilingBytes < MAX_FRAME_BYTES) {
    throw new ConfigError(`${sources['limits.frameCeilingBytes']}: must be at least the protocol's frame limit (${MAX_FRAME_BYTES})`);
  }
  return { config, sources, ...(filePath ? { file: filePath } : {}) };
}

function readConfigFile(path: string, via: string): Record<string, unknown> {
  let raw: string;
  try {
    raw = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`${via} ${path}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (err) {
    throw new ConfigError(`${via} ${path}: not valid JSON (${(err as Error).message})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ConfigError(`${via} ${path}: must hold a JSON object`);
  // A misspelt key would otherwise be ignored without a word.
  const known = new Set(SETTINGS.map((s) => s.key));
  for (const [key, inner] of Object.entries(value)) {
    if (key === 'limits' && typeof inner === 'object' && inner !== null && !Array.isArray(inner)) {
      for (const sub of Object.keys(inner)) if (!known.has(`limits.${sub}`)) throw new ConfigError(`${via} ${path}: unknown setting "limits.${sub}"`);
    } else if (!known.has(key)) {
      throw new ConfigError(`${via} ${path}: unknown setting "${key}"`);
    }
  }
  return value as Record<string, unknown>;
}

function lookup(obj: Record<string, unknown>, key: string): unknown {
  let cur: unknown = obj;
  for (const part of key.split('.')) cur = typeof cur === 'object' && cur !== null ? (cur as Record<string, unknown>)[part] : undefined;
  return cur;
}

function assign(obj: Record<string, unknown>, key: string, value: unknown): void {
  const parts = key.split('.');
  let cur = obj;
  for (const part of parts.slice(0, -1)) cur = (cur[part] ??= {}) as Record<string, unknown>;
  cur[parts.at(-1)!] = value;
}

/** The effective configuration as a config file would hold it, secrets masked: `confab config print`. */
export function printableConfig(loaded: LoadedConfig): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const setting of SETTINGS) {
    let value = lookup(loaded.config as unknown as Record<string, unknown>, setting.key);
    if (value === undefined) continue;
    if (setting.mask === 'secret') value = '***';
    else if (setting.mask === 'url') value = maskUrls(String(value));
    assign(out, setting.key, value);
  }
  return out;
}

/** `postgres://confab:pw@db/confab` → `postgres://confab:***@db/confab` (each of a comma-separated list). */
export function maskUrls(value: string): string {
  return value.split(',').map((part) => {
    try {
      const url = new URL(part.trim());
      if (url.password) url.password = '***';
      return url.toString();
    } catch {
      return part.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
    }
  }).join(',');
}

/** Every setting with its flag and variable, for the help text. */
export function settingsTable(): string {
  return SETTINGS.filter((s) => !s.key.startsWith('limits.'))
    .map((s) => `  ${s.env.padEnd(28)}${s.flag ? `--${s.flag}`.padEnd(20) : ''.padEnd(20)}"${s.key}"${s.default !== undefined ? ` (default ${String(s.default)})` : ''}`)
    .join('\n');
}
