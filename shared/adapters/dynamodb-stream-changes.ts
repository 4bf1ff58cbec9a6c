import type { AttributeValue, DynamoDBRecord } from 'aws-lambda';
import type { StoredChange } from '../domain/webhook-events-from-changes.ts';
import type { TableKey } from './table-definitions.ts';

/** A stream image's attribute as a plain value (numbers as numbers, sets as arrays, binaries as Buffers). */
const plainValue = (a: AttributeValue): unknown => {
  if (a.S !== undefined) return a.S;
  if (a.N !== undefined) return Number(a.N);
  if (a.BOOL !== undefined) return a.BOOL;
  if (a.NULL) return null;
  if (a.M !== undefined) return imageOf(a.M);
  if (a.L !== undefined) return a.L.map(plainValue);
  if (a.SS !== undefined) return [...a.SS];
  if (a.NS !== undefined) return a.NS.map(Number);
  if (a.B !== undefined) return Buffer.from(a.B, 'base64');
  if (a.BS !== undefined) return a.BS.map((b) => Buffer.from(b, 'base64'));
  return undefined;
};

const imageOf = (image: Record<string, AttributeValue>): Record<string, unknown> =>
  Object.fromEntries(Object.entries(image).map(([k, v]) => [k, plainValue(v)]));

/** The change a DynamoDB Streams record describes (NEW_AND_OLD_IMAGES), images unmarshalled. */
export const changeOf = (record: DynamoDBRecord): StoredChange | undefined => {
  const eventName = record.eventName;
  if (!eventName) return undefined;
  const { NewImage, OldImage } = record.dynamodb ?? {};
  return {
    eventName,
    ...(NewImage && { newImage: imageOf(NewImage) }),
    ...(OldImage && { oldImage: imageOf(OldImage) }),
  };
};

/**
 * The tables whose streams (NEW_AND_OLD_IMAGES) produce the events to tenants: sessions (status)
 * and messages (received, status). The local stack and the CDK app enable streams on exactly these.
 */
export const EVENT_SOURCE_TABLES = ['sessions', 'messages'] as const satisfies readonly TableKey[];
