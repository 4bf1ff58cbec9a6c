import { InvalidCursorError, type Page, type PageRequest } from '../ports/page.ts';
import { type DynamoTable, entityOf } from './dynamodb-table.ts';

/** The key attributes of an item listed through gsi1: what DynamoDB needs to resume after it. */
export type Gsi1Key = { pk: string; gsi1pk: string; gsi1sk: string };

/** A listing's index: its key attributes are `<index>pk` and `<index>sk`. */
export type PagedIndex = 'gsi1' | 'gsi2';

const keyNames = (index: PagedIndex) => [`${index}pk`, `${index}sk`, 'pk'];

/** Far above any cursor a listing makes (~300 characters), far below DynamoDB's key limits. */
export const MAX_CURSOR_CHARS = 1024;
// Every gsi1 listing sorts by `<ISO time>#<item id>`, the id being the rest of the item's pk.
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;
const ITEM_ID = /^[A-Za-z0-9_.:-]{1,200}$/;

/** The opaque cursor of a gsi1 (or `index`) listing: the base64url JSON of the last item's key. */
export const encodeCursor = (item: Record<string, unknown>, index: PagedIndex = 'gsi1'): string =>
  Buffer.from(
    JSON.stringify({ pk: item.pk, [`${index}pk`]: item[`${index}pk`], [`${index}sk`]: item[`${index}sk`] }),
  ).toString('base64url');

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
 * `expected.gsi1pk` is the listing's partition in its index (`index`, gsi1 unless given).
 */
export function decodeCursor(cursor: string, expected: { gsi1pk: string; pkPrefix: string }): Gsi1Key;
export function decodeCursor(
  cursor: string,
  expected: { gsi1pk: string; pkPrefix: string },
  index: PagedIndex,
): Record<string, string>;
export function decodeCursor(
  cursor: string,
  expected: { gsi1pk: string; pkPrefix: string },
  index: PagedIndex = 'gsi1',
): Record<string, string> {
  const names = keyNames(index);
  const [pkName, skName] = names as [string, string];
  const key = parse(cursor);
  if (typeof key !== 'object' || key === null || Array.isArray(key)) throw new InvalidCursorError();
  const entries = Object.entries(key);
  const strings =
    entries.length === names.length &&
    entries.every(([name, value]) => names.includes(name) && typeof value === 'string');
  if (!strings) throw new InvalidCursorError();
  const k = key as Record<string, string>;
  const pk = k.pk as string;
  const sk = k[skName] as string;
  const id = pk.startsWith(expected.pkPrefix) ? pk.slice(expected.pkPrefix.length) : '';
  const separator = sk.lastIndexOf('#');
  const valid =
    k[pkName] === expected.gsi1pk &&
    ITEM_ID.test(id) &&
    separator > 0 &&
    sk.slice(separator + 1) === id &&
    ISO_TIME.test(sk.slice(0, separator));
  if (!valid) throw new InvalidCursorError();
  return { pk, [pkName]: k[pkName] as string, [skName]: sk };
}

/** Where a listing reads: its index, its partition there, and the pk prefix of its items. */
export interface Listing {
  index: PagedIndex;
  partition: string;
  pkPrefix: string;
  /** Newest first unless false. */
  newestFirst?: boolean;
}

/**
 * One page of a listing: the cursor must be one this listing made (same partition, items under
 * `pkPrefix`), and a next cursor is given only when more items exist (one item more than asked
 * tells it, so the last page has no cursor).
 */
export const queryPage = async <T>(
  table: DynamoTable,
  listing: Listing,
  page: PageRequest,
  map: (item: Record<string, unknown>) => T | undefined = (item) => entityOf<T>(item),
): Promise<Page<T>> => {
  const { index, partition, pkPrefix } = listing;
  const start = page.cursor && decodeCursor(page.cursor, { gsi1pk: partition, pkPrefix }, index);
  const { items } = await table.query({
    IndexName: index,
    KeyConditionExpression: `${index}pk = :p`,
    ExpressionAttributeValues: { ':p': partition },
    ScanIndexForward: listing.newestFirst === false,
    Limit: page.limit + 1,
    ...(start && { ExclusiveStartKey: start }),
  });
  const kept = items.slice(0, page.limit);
  const last = kept.at(-1);
  return {
    items: kept.map((item) => map(item) as T),
    ...(items.length > page.limit && last && { nextCursor: encodeCursor(last, index) }),
  };
};
