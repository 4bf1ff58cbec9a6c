/**
 * The DynamoDB tables, as data: the local stack creates them from this list and the CDK app
 * declares them from it, so both always agree. Every key attribute is a string.
 */
export interface IndexDefinition {
  name: string;
  partitionKey: string;
  sortKey: string;
  /** What the index copies of an item: all of it (default), or its keys only (a lookup that reads the item). */
  projection?: 'ALL' | 'KEYS_ONLY';
}

export interface TableDefinition {
  /** Construct id in CDK and suffix of the local table name. */
  id: string;
  /** The env key through which code learns the table name. */
  envKey: string;
  partitionKey: string;
  sortKey?: string;
  /** Attribute holding an epoch-seconds expiry, when items expire. */
  ttlAttribute?: string;
  indexes: IndexDefinition[];
}

export const GSI1 = 'gsi1';
/** Sparse: only items that carry its keys are in it (the messages table: sends still QUEUED). */
export const GSI2 = 'gsi2';
/** Keys only, sparse: the messages table's sends by WhatsApp id (`WAID#session` / waMessageId). */
export const GSI3 = 'gsi3';
export const TTL_ATTRIBUTE = 'ttl';

export const TABLES = {
  /** Tenants (`TENANT#id`) and API key hashes (`APIKEY#sha256`). */
  tenants: { id: 'Tenants', envKey: 'TENANTS_TABLE', partitionKey: 'pk', indexes: [] },
  /**
   * Sessions (`SESSION#id`, listed per shard through gsi1) and chatbots (`CHATBOT#tenant#id`);
   * gsi2 lists both per tenant by creation time (`TENANTSESSIONS#tenant`, `TENANTCHATBOTS#tenant`).
   */
  sessions: {
    id: 'Sessions',
    envKey: 'SESSIONS_TABLE',
    partitionKey: 'pk',
    indexes: [
      { name: GSI1, partitionKey: 'gsi1pk', sortKey: 'gsi1sk' },
      { name: GSI2, partitionKey: 'gsi2pk', sortKey: 'gsi2sk' },
    ],
  },
  /**
   * Messages (by conversation and time through gsi1) and conversations (by session and last activity).
   * gsi2 lists a session's sends still QUEUED by creation time (`QUEUED#session`), for the sweeper.
   * gsi3 finds a claimed send by its WhatsApp id (`WAID#session` / waMessageId), keys only: the
   * claim sets its keys once, so a status write never touches it. Sends claimed before gsi3 have a
   * link item instead (`WAMSG#session#waId` → messageId, expiring by TTL 60 days after the claim).
   */
  messages: {
    id: 'Messages',
    envKey: 'MESSAGES_TABLE',
    partitionKey: 'pk',
    ttlAttribute: TTL_ATTRIBUTE,
    indexes: [
      { name: GSI1, partitionKey: 'gsi1pk', sortKey: 'gsi1sk' },
      { name: GSI2, partitionKey: 'gsi2pk', sortKey: 'gsi2sk' },
      { name: GSI3, partitionKey: 'gsi3pk', sortKey: 'gsi3sk', projection: 'KEYS_ONLY' },
    ],
  },
  /** Daily usage counters per tenant (`TENANT#id` / `DAY#YYYY-MM-DD`). */
  usage: { id: 'Usage', envKey: 'USAGE_TABLE', partitionKey: 'pk', sortKey: 'sk', indexes: [] },
  /** Short-lived request records: idempotency keys and rate-limit windows. */
  requests: {
    id: 'Requests',
    envKey: 'REQUESTS_TABLE',
    partitionKey: 'pk',
    ttlAttribute: TTL_ATTRIBUTE,
    indexes: [],
  },
  /** Shard leases of the session runners. */
  leases: { id: 'Leases', envKey: 'LEASES_TABLE', partitionKey: 'pk', indexes: [] },
  /**
   * Webhook endpoints (`WEBHOOK#id`, per tenant through gsi1) and their deliveries
   * (`DELIVERY#webhookId#eventId`, per endpoint newest first through gsi1, expiring by TTL);
   * gsi2 lists the pending deliveries of one endpoint and session by event time (`PENDING#…`),
   * keys only: it is read for the rare delivery found before its turn, written for every one.
   */
  webhooks: {
    id: 'Webhooks',
    envKey: 'WEBHOOKS_TABLE',
    partitionKey: 'pk',
    ttlAttribute: TTL_ATTRIBUTE,
    indexes: [
      { name: GSI1, partitionKey: 'gsi1pk', sortKey: 'gsi1sk' },
      { name: GSI2, partitionKey: 'gsi2pk', sortKey: 'gsi2sk', projection: 'KEYS_ONLY' },
    ],
  },
} as const satisfies Record<string, TableDefinition>;

export type TableKey = keyof typeof TABLES;
