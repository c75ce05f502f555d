// Number, size and time formatting, and the three ways a record's key or value is shown: text, JSON or hex.
import type { Bytes } from './api.js';

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const decimal = new Intl.NumberFormat('en-US', { maximumFractionDigits: 1 });

export function formatCount(n: number | null | undefined): string {
  return n === null || n === undefined ? '–' : integer.format(n);
}

export function formatRate(n: number): string {
  return n >= 100 || n === 0 ? integer.format(n) : decimal.format(n);
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

export function formatSize(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined) return '–';
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} B` : `${decimal.format(v)} ${UNITS[u]}`;
}

/** Local time with milliseconds, as a reader compares record timestamps. */
export function formatTime(ms: number): string {
  if (ms < 0) return String(ms);
  const d = new Date(ms);
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

export function decodeBase64(data: string): Uint8Array {
  const bin = atob(data);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export type Format = 'auto' | 'text' | 'json' | 'hex';
export const FORMATS: readonly Format[] = ['auto', 'text', 'json', 'hex'];

export interface Shown {
  /** What was chosen (auto resolves to one of the others). */
  kind: 'text' | 'json' | 'hex' | 'null';
  text: string;
  /** Bytes left out by the server (the field is longer than it sends). */
  cutBytes: number;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function asText(bytes: Uint8Array): string | null {
  try {
    return utf8.decode(bytes);
  } catch {
    return null;
  }
}

/** Control characters other than tab, newline and carriage return make text better read as hex. */
function printable(s: string): boolean {
  return !/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(s);
}

function asJson(s: string): string | null {
  const t = s.trim();
  if (!(t.startsWith('{') || t.startsWith('['))) return null;
  try {
    return JSON.stringify(JSON.parse(t), null, 2);
  } catch {
    return null;
  }
}

/** A hex dump: offset, 16 bytes, and their printable ASCII. */
export function hexDump(bytes: Uint8Array): string {
  const lines: string[] = [];
  for (let at = 0; at < bytes.length; at += 16) {
    const row = bytes.subarray(at, at + 16);
    const hex = Array.from(row, (b) => b.toString(16).padStart(2, '0')).join(' ');
    const ascii = Array.from(row, (b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
    lines.push(`${at.toString(16).padStart(8, '0')}  ${hex.padEnd(47)}  ${ascii}`);
  }
  return lines.join('\n');
}

export function show(field: Bytes | null, format: Format): Shown {
  if (field === null) return { kind: 'null', text: 'null', cutBytes: 0 };
  const bytes = decodeBase64(field.data);
  const cutBytes = field.size - bytes.length;
  const text = asText(bytes);
  if (format === 'hex' || (format === 'auto' && (text === null || !printable(text)))) return { kind: 'hex', text: hexDump(bytes), cutBytes };
  if (text === null) return { kind: 'hex', text: hexDump(bytes), cutBytes };
  if (format === 'json' || format === 'auto') {
    const json = asJson(text);
    if (json !== null) return { kind: 'json', text: json, cutBytes };
  }
  return { kind: 'text', text, cutBytes };
}
