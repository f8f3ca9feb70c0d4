/**
 * Searching a PostgreSQL data directory for a marker, file by file, for the erasure
 * tests: reading it needs the operating-system user that owns it (or root).
 */
import { closeSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

function walk(root: string, skip: (rel: string) => boolean, base = root): string[] {
  let names: string[];
  try {
    names = readdirSync(root);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []; // a database dropped meanwhile
    throw err;
  }
  return names.flatMap((name) => {
    const path = join(root, name);
    const rel = relative(base, path);
    if (skip(rel)) return [];
    let stat;
    try {
      stat = statSync(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    if (stat.isDirectory()) return walk(path, skip, base);
    return stat.isFile() ? [path] : [];
  });
}

/** Whether the file holds `needle`, read in 1 MiB chunks (a match across two chunks counts). */
function holds(path: string, needle: Buffer): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false; // unlinked meanwhile
    throw err;
  }
  try {
    const chunk = Buffer.alloc(1 << 20);
    let carry = Buffer.alloc(0);
    for (;;) {
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) return false;
      const window = Buffer.concat([carry, chunk.subarray(0, n)]);
      if (window.includes(needle)) return true;
      carry = Buffer.from(window.subarray(Math.max(0, window.length - needle.length + 1)));
    }
  } finally {
    closeSync(fd);
  }
}

/** The files under `root` (relative paths) that hold `marker`, leaving out what `skip` says. */
export function filesHolding(root: string, marker: string, skip: (rel: string) => boolean = () => false): string[] {
  const needle = Buffer.from(marker);
  return walk(root, skip).filter((path) => holds(path, needle)).map((path) => relative(root, path));
}
