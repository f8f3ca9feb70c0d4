/** Small presentation helpers: times, avatars, element creation. */

const DAY_MS = 24 * 3600 * 1000;

function startOfDay(d: Date): number {
  return new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
}

const timeFmt = new Intl.DateTimeFormat(undefined, { hour: 'numeric', minute: '2-digit' });
const weekdayFmt = new Intl.DateTimeFormat(undefined, { weekday: 'short' });
const shortDateFmt = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric' });
const longDateFmt = new Intl.DateTimeFormat(undefined, { year: 'numeric', month: 'short', day: 'numeric' });
const dayFmt = new Intl.DateTimeFormat(undefined, { weekday: 'long', month: 'long', day: 'numeric' });
const fullFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'full', timeStyle: 'short' });

/** The conversation list's time: 14:05, Yesterday, Tue, Mar 3, or Mar 3, 2025. */
export function listTime(ms: number, now = Date.now()): string {
  const d = new Date(ms);
  const days = Math.round((startOfDay(new Date(now)) - startOfDay(d)) / DAY_MS);
  if (days <= 0) return timeFmt.format(d);
  if (days === 1) return 'Yesterday';
  if (days < 7) return weekdayFmt.format(d);
  return d.getFullYear() === new Date(now).getFullYear() ? shortDateFmt.format(d) : longDateFmt.format(d);
}

export function clockTime(ms: number): string {
  return timeFmt.format(new Date(ms));
}

export function fullTime(ms: number): string {
  return fullFmt.format(new Date(ms));
}

/** A day separator's label: Today, Yesterday, or Monday, March 3. */
export function dayLabel(ms: number, now = Date.now()): string {
  const d = new Date(ms);
  const days = Math.round((startOfDay(new Date(now)) - startOfDay(d)) / DAY_MS);
  if (days <= 0) return 'Today';
  if (days === 1) return 'Yesterday';
  return d.getFullYear() === new Date(now).getFullYear() ? dayFmt.format(d) : longDateFmt.format(d);
}

export function sameDay(a: number, b: number): boolean {
  return startOfDay(new Date(a)) === startOfDay(new Date(b));
}

const AVATAR_COLORS = ['#6366f1', '#0ea5e9', '#10b981', '#f59e0b', '#ef4444', '#ec4899', '#8b5cf6', '#14b8a6', '#f97316', '#64748b'];

/** Fills an avatar element with the name's initial on a colour picked from the ID. */
export function paintAvatar(el: HTMLElement, id: string, name: string): void {
  let hash = 0;
  for (const ch of id) hash = (hash * 31 + ch.codePointAt(0)!) >>> 0;
  el.textContent = (name.match(/[\p{L}\p{N}]/u)?.[0] ?? '?').toUpperCase();
  el.style.setProperty('--avatar-bg', AVATAR_COLORS[hash % AVATAR_COLORS.length]!);
}

type Attrs = Record<string, string | number | boolean | undefined | null>;

/**
 * `h('li', { class: 'x', 'data-testid': 'y' }, child, 'text')`. Attributes that are
 * false/null/undefined are left out; `true` sets an empty attribute. Text is text, never HTML.
 */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K, attrs: Attrs = {}, ...children: (Node | string | null | undefined | false)[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    el.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child);
  }
  return el;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

/** A 24×24 stroke icon from one path. */
export function icon(d: string, label?: string): SVGSVGElement {
  const svg = document.createElementNS(SVG_NS, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  if (label) {
    svg.setAttribute('role', 'img');
    svg.setAttribute('aria-label', label);
  } else svg.setAttribute('aria-hidden', 'true');
  const path = document.createElementNS(SVG_NS, 'path');
  path.setAttribute('d', d);
  svg.append(path);
  return svg;
}

export const PIN_PATH = 'M9 4h6l-1 6 3 3H7l3-3zM12 13v7';
