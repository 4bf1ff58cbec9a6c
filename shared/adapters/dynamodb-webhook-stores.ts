import { WebhookDeliveryJob } from '../contracts/webhook-events.ts';
import { eventOrderTime, pendingOrderKey } from '../domain/webhook-order.ts';
import type { Page, PageRequest } from '../ports/page.ts';
import type {
  AttemptOutcome,
  Delivery,
  DeliveryLog,
  WebhookEndpoint,
  WebhookEndpointStore,
} from '../ports/webhook-store.ts';
import { queryPage } from './dynamodb-page.ts';
import { type DynamoTable, entityOf } from './dynamodb-table.ts';

// The Webhooks table holds endpoints (`WEBHOOK#<id>`, listed per tenant through gsi1
// `TENANTWEBHOOKS#<tenantId>` / `<createdAt>#<id>`) and deliveries (`DELIVERY#<webhookId>#<eventId>`,
// listed per endpoint through gsi1 `DELIVERIES#<webhookId>` / `<createdAt>#<eventId>`, expiring by TTL).
// A delivery recorded with its job is also in the sparse gsi2 (keys only) while pending, per
// group: `PENDING#<webhookId>#<sessionId>` / `<UTC event time>#<eventId>`; its final write removes it.

const endpointKey = (webhookId: string) => ({ pk: `WEBHOOK#${webhookId}` });
const tenantPartition = (tenantId: string) => `TENANTWEBHOOKS#${tenantId}`;
const deliveryKey = (webhookId: string, eventId: string) => ({ pk: `DELIVERY#${webhookId}#${eventId}` });
const deliveriesPartition = (webhookId: string) => `DELIVERIES#${webhookId}`;
const pendingPartition = (webhookId: string, sessionId: string) => `PENDING#${webhookId}#${sessionId}`;
/** How long a delivery stays listed. */
export const DELIVERY_RETENTION_SECONDS = 30 * 86_400;

export class DynamoWebhookEndpointStore implements WebhookEndpointStore {
  constructor(private readonly table: DynamoTable) {}

  create(endpoint: WebhookEndpoint): Promise<boolean> {
    return this.table.put(
      {
        ...endpointKey(endpoint.webhookId),
        gsi1pk: tenantPartition(endpoint.tenantId),
        gsi1sk: `${endpoint.createdAt}#${endpoint.webhookId}`,
        ...endpoint,
      },
      { ConditionExpression: 'attribute_not_exists(pk)' },
    );
  }

  async get(webhookId: string): Promise<WebhookEndpoint | undefined> {
    return entityOf<WebhookEndpoint>(await this.table.get(endpointKey(webhookId)));
  }

  async listByTenant(tenantId: string): Promise<WebhookEndpoint[]> {
    const items = await this.table.queryAll({
      IndexName: 'gsi1',
      KeyConditionExpression: 'gsi1pk = :p',
      ExpressionAttributeValues: { ':p': tenantPartition(tenantId) },
    });
    return items.map((item) => entityOf<WebhookEndpoint>(item) as WebhookEndpoint);
  }

  delete(tenantId: string, webhookId: string): Promise<boolean> {
    return this.table.delete(endpointKey(webhookId), {
      ConditionExpression: 'tenantId = :t',
      ExpressionAttributeValues: { ':t': tenantId },
    });
  }
}

type DeliveryKey = Pick<Delivery, 'webhookId' | 'eventId' | 'type' | 'createdAt'>;

const deliveryOf = (item: Record<string, unknown> | undefined): Delivery | undefined => {
  const entity = entityOf<Delivery & { job?: unknown }>(item);
  if (!entity) return undefined;
  const { job: _job, ...delivery } = entity;
  return delivery;
};

const jobOf = (stored: unknown): WebhookDeliveryJob | undefined => {
  try {
    const parsed = WebhookDeliveryJob.safeParse(JSON.parse(String(stored)));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined; // not JSON: never delivered from the index (its own queued job still is)
  }
};

export class DynamoDeliveryLog implements DeliveryLog {
  constructor(private readonly table: DynamoTable) {}

  private base(d: DeliveryKey) {
    return {
      ...deliveryKey(d.webhookId, d.eventId),
      gsi1pk: deliveriesPartition(d.webhookId),
      gsi1sk: `${d.createdAt}#${d.eventId}`,
      ttl: Math.floor(Date.parse(d.createdAt) / 1000) + DELIVERY_RETENTION_SECONDS,
      webhookId: d.webhookId,
      eventId: d.eventId,
      type: d.type,
      createdAt: d.createdAt,
    };
  }

  async recordPending(d: DeliveryKey, job?: WebhookDeliveryJob): Promise<void> {
    // The job as JSON: the worker delivers it from here when it comes before its queue turn.
    const pending = job && {
      gsi2pk: pendingPartition(d.webhookId, job.sessionId),
      gsi2sk: pendingOrderKey(d.createdAt, d.eventId),
      job: JSON.stringify(job),
    };
    await this.table.put(
      { ...this.base(d), ...pending, attempts: 0, state: 'pending', updatedAt: d.createdAt },
      { ConditionExpression: 'attribute_not_exists(pk)' },
    );
  }

  async pendingBefore(
    webhookId: string,
    sessionId: string,
    before: string,
    limit: number,
  ): Promise<WebhookDeliveryJob[]> {
    const { items } = await this.table.query({
      IndexName: 'gsi2',
      // Strictly earlier: every key of the same time (`<time>#<id>`) sorts after `<time>`.
      KeyConditionExpression: 'gsi2pk = :p AND gsi2sk < :before',
      ExpressionAttributeValues: {
        ':p': pendingPartition(webhookId, sessionId),
        ':before': eventOrderTime(before),
      },
      Limit: limit,
    });
    // Keys only in the index: each delivery is read whole (consistently, so one made final a
    // moment ago is left out). Usually there is none: a job rarely has an older one pending.
    const found = await Promise.all(items.map((item) => this.table.get({ pk: String(item.pk) })));
    return found.flatMap((item) => {
      const job = item?.state === 'pending' ? jobOf(item.job) : undefined;
      return job ? [job] : [];
    });
  }

  async get(webhookId: string, eventId: string): Promise<Delivery | undefined> {
    return deliveryOf(await this.table.get(deliveryKey(webhookId, eventId)));
  }

  async recordAttempt(d: DeliveryKey, outcome: AttemptOutcome): Promise<Delivery> {
    const { pk: _pk, ...base } = this.base(d);
    const names: Record<string, string> = { '#state': 'state' };
    const values: Record<string, unknown> = { ':state': outcome.state, ':now': outcome.now, ':one': 1 };
    names['#attempts'] = 'attempts';
    const set = [
      '#state = :state',
      'updatedAt = :now',
      'firstAttemptAt = if_not_exists(firstAttemptAt, :now)',
    ];
    Object.entries(base).forEach(([field, value], i) => {
      names[`#b${i}`] = field;
      values[`:b${i}`] = value;
      set.push(`#b${i} = if_not_exists(#b${i}, :b${i})`);
    });
    // A final delivery leaves its group's pending index (and drops its copy of the job).
    const remove: string[] = outcome.state === 'pending' ? [] : ['gsi2pk', 'gsi2sk', '#job'];
    if (remove.length) names['#job'] = 'job';
    for (const field of ['lastStatus', 'lastError'] as const) {
      const value = outcome[field];
      if (value === undefined) remove.push(field);
      else {
        set.push(`${field} = :${field}`);
        values[`:${field}`] = value;
      }
    }
    values[':pending'] = 'pending';
    const updated = await this.table.update<Record<string, unknown>>(deliveryKey(d.webhookId, d.eventId), {
      UpdateExpression: `SET ${set.join(', ')} ADD #attempts :one${remove.length ? ` REMOVE ${remove.join(', ')}` : ''}`,
      ConditionExpression: 'attribute_not_exists(pk) OR #state = :pending',
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    });
    if (updated) return deliveryOf(updated) as Delivery;
    // Already final: a redelivered job changes nothing.
    return (await this.get(d.webhookId, d.eventId)) as Delivery;
  }

  async list(webhookId: string, page: PageRequest): Promise<Page<Delivery>> {
    return queryPage(
      this.table,
      { index: 'gsi1', partition: deliveriesPartition(webhookId), pkPrefix: `DELIVERY#${webhookId}#` },
      page,
      deliveryOf,
    );
  }
}
