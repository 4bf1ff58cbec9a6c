import { InvalidCursorError } from '../ports/page.ts';

/** The key attributes of an item listed through gsi1: what DynamoDB needs to resume after it. */
export type Gsi1Key = { pk: string; gsi1pk: string; gsi1sk: string };

const KEY_NAMES = ['gsi1pk', 'gsi1sk', 'pk'];

/** The opaque cursor of a gsi1 listing: the base64url JSON of the last item's key. */
export const encodeCursor = (item: Record<string, unknown>): string =>
  Buffer.from(JSON.stringify({ pk: item.pk, gsi1pk: item.gsi1pk, gsi1sk: item.gsi1sk })).toString(
    'base64url',
  );

/**
 * Decodes a cursor into the ExclusiveStartKey of the next query. Only a key of the same listing is
 * accepted (same gsi1 partition, item prefix), so a forged cursor can neither reach another
 * partition nor make DynamoDB fail with a 500; anything else is a 400 on `query.cursor`.
 */
export const decodeCursor = (cursor: string, expected: { gsi1pk: string; pkPrefix: string }): Gsi1Key => {
  let key: unknown;
  try {
    key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidCursorError();
  }
  if (typeof key !== 'object' || key === null || Array.isArray(key)) throw new InvalidCursorError();
  const entries = Object.entries(key);
  const valid =
    entries.length === KEY_NAMES.length &&
    entries.every(
      ([name, value]) => KEY_NAMES.includes(name) && typeof value === 'string' && value.length > 0,
    );
  const k = key as Gsi1Key;
  if (!valid || k.gsi1pk !== expected.gsi1pk || !k.pk.startsWith(expected.pkPrefix)) {
    throw new InvalidCursorError();
  }
  return { pk: k.pk, gsi1pk: k.gsi1pk, gsi1sk: k.gsi1sk };
};
