/**
 * Deterministic, varied test messages for the compat suites: different lengths (1 byte to several KB),
 * quotes, backslashes, tabs, colons, '=' and multi-byte UTF-8, so that a byte-level mistake in the broker
 * (wrong length, a dropped or repeated batch, bad decompression) shows up as a mismatch.
 */

/** mulberry32: small seeded PRNG, so a failing run can be reproduced exactly. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PIECES = [
  'abc', 'XYZ', 'hello world', '0123456789', ' ', '\t', '"', "'", '\\', '{', '}', '[', ']', '=', ',', ';',
  'é', 'ß', 'ñ', 'Ω', '日本語', '中文', '🙂', '€', '<tag/>', '%s', '%d', '&amp;', '\u0001', '\u007f', 'ü',
];
const PIECES_NO_COLON = PIECES;
const PIECES_WITH_COLON = [...PIECES, ':', 'a:b', '::'];

export interface TextMessage {
  /** Position in the produced sequence; also embedded at the start of the value as `#<index>|`. */
  index: number;
  /** null = no key (kcat: a line without the key delimiter). */
  key: string | null;
  value: string;
}

/**
 * `count` messages for line-oriented producers (kcat -K:): no newlines anywhere, no ':' in keys, and no ':' in
 * the value of a keyless message (kcat would split it as a key). Every 50th message has no key.
 */
export function makeTextMessages(count: number, seed: number, keyCount = 997): TextMessage[] {
  const random = prng(seed);
  const messages: TextMessage[] = [];
  for (let index = 0; index < count; index++) {
    const keyless = index % 50 === 7;
    const key = keyless ? null : `key-${Math.floor(random() * keyCount)}`;
    const pieces = keyless ? PIECES_NO_COLON : PIECES_WITH_COLON;
    // Mostly short, sometimes medium, rarely a few KB.
    const roll = random();
    const target = roll < 0.001 ? 3000 + Math.floor(random() * 5000) : roll < 0.1 ? 200 + Math.floor(random() * 800) : Math.floor(random() * 120);
    let value = `#${index}|`;
    while (value.length < target) value += pieces[Math.floor(random() * pieces.length)];
    messages.push({ index, key, value });
  }
  return messages;
}

/** Index embedded by makeTextMessages at the start of a value. */
export function indexOfValue(value: string | null): number {
  if (value === null) return -1;
  const match = /^#(\d+)\|/.exec(value);
  return match === null ? -1 : Number(match[1]);
}

/** kcat -P -K: input: `key:value\n` or `value\n`. */
export function toKcatInput(messages: TextMessage[]): string {
  let out = '';
  for (const m of messages) out += m.key === null ? `${m.value}\n` : `${m.key}:${m.value}\n`;
  return out;
}
