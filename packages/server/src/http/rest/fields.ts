import { ConfabError } from '@confab/protocol';

/**
 * Typed reads of a REST body's fields, the older style: new commands declare a zod
 * schema instead (`schema.ts`), as the gateway and the admin API do. Names are the reference's, case-sensitive; each
 * service family passes the code it answers a bad field with (50002 for the
 * conversation APIs, 6017 elsewhere).
 */
export class Fields {
  readonly #body: Record<string, unknown>;
  readonly #code: number;

  constructor(body: Record<string, unknown>, badCode: number) {
    this.#body = body;
    this.#code = badCode;
  }

  bad(desc: string): ConfabError {
    return new ConfabError(this.#code, desc);
  }

  has(name: string): boolean {
    return this.#body[name] !== undefined && this.#body[name] !== null;
  }

  raw(name: string): unknown {
    return this.#body[name];
  }

  string(name: string): string {
    const v = this.#body[name];
    if (typeof v !== 'string') throw this.bad(`${name} is required and must be a string`);
    return v;
  }

  optionalString(name: string): string | undefined {
    if (!this.has(name)) return undefined;
    return this.string(name);
  }

  /** An integer in [min, max]; `fallback` when the field is absent (required when no fallback). */
  int(name: string, min: number, max: number, fallback?: number): number {
    if (!this.has(name)) {
      if (fallback === undefined) throw this.bad(`${name} is required`);
      return fallback;
    }
    const v = this.#body[name];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
      throw this.bad(`${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(v)}`);
    }
    return v;
  }

  /** One of the listed integers; `fallback` when absent (required when no fallback). */
  oneOf<T extends number>(name: string, allowed: readonly T[], fallback?: T): T {
    if (!this.has(name)) {
      if (fallback === undefined) throw this.bad(`${name} is required`);
      return fallback;
    }
    const v = this.#body[name];
    if (!allowed.includes(v as T)) throw this.bad(`${name} must be one of ${allowed.join(', ')}, got ${JSON.stringify(v)}`);
    return v as T;
  }

  array(name: string): unknown[] {
    const v = this.#body[name];
    if (!Array.isArray(v)) throw this.bad(`${name} is required and must be an array`);
    return v;
  }
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
