import { InvalidCursorError } from '../ports/page.ts';

/** The key attributes of an item listed through gsi1: what DynamoDB needs to resume after it. */
export type Gsi1Key = { pk: string; gsi1pk: string; gsi1sk: string };

const KEY_NAMES = ['gsi1pk', 'gsi1sk', 'pk'];

/** Far above any cursor a listing makes (~300 characters), far below DynamoDB's key limits. */
export const MAX_CURSOR_CHARS = 1024;
// Every gsi1 listing sorts by `<ISO time>#<item id>`, the id being the rest of the item's pk.
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;
const ITEM_ID = /^[A-Za-z0-9_.:-]{1,200}$/;

/** The opaque cursor of a gsi1 listing: the base64url JSON of the last item's key. */
export const encodeCursor = (item: Record<string, unknown>): string =>
  Buffer.from(JSON.stringify({ pk: item.pk, gsi1pk: item.gsi1pk, gsi1sk: item.gsi1sk })).toString(
    'base64url',
  );

const parse = (cursor: string): unknown => {
  if (cursor.length > MAX_CURSOR_CHARS || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw new InvalidCursorError();
  try {
    return JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidCursorError();
  }
};

/**
 * Decodes a cursor into the ExclusiveStartKey of the next query, or throws InvalidCursorError (400).
 * Only the key of an item this very listing could return passes: same gsi1 partition (so a cursor
 * of another tenant's, session's or conversation's list is refused), the listing's pk prefix, and
 * a sort key made of an ISO time and that item's id. A forged cursor therefore never reaches
 * another partition, nor makes DynamoDB fail (a sort key over 1024 bytes would be a 500).
 */
export const decodeCursor = (cursor: string, expected: { gsi1pk: string; pkPrefix: string }): Gsi1Key => {
  const key = parse(cursor);
  if (typeof key !== 'object' || key === null || Array.isArray(key)) throw new InvalidCursorError();
  const entries = Object.entries(key);
  const strings =
    entries.length === KEY_NAMES.length &&
    entries.every(([name, value]) => KEY_NAMES.includes(name) && typeof value === 'string');
  if (!strings) throw new InvalidCursorError();
  const k = key as Gsi1Key;
  const id = k.pk.startsWith(expected.pkPrefix) ? k.pk.slice(expected.pkPrefix.length) : '';
  const separator = k.gsi1sk.lastIndexOf('#');
  const valid =
    k.gsi1pk === expected.gsi1pk &&
    ITEM_ID.test(id) &&
    separator > 0 &&
    k.gsi1sk.slice(separator + 1) === id &&
    ISO_TIME.test(k.gsi1sk.slice(0, separator));
  if (!valid) throw new InvalidCursorError();
  return { pk: k.pk, gsi1pk: k.gsi1pk, gsi1sk: k.gsi1sk };
};
