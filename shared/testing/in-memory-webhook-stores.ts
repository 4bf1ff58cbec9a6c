import type { WebhookDeliveryJob } from '../contracts/webhook-events.ts';
import { eventOrderTime, pendingOrderKey } from '../domain/webhook-order.ts';
import type { Page, PageRequest } from '../ports/page.ts';
import type { WebhookJobControl, WebhookJobQueue } from '../ports/webhook-delivery.ts';
import type {
  AttemptOutcome,
  Delivery,
  DeliveryLog,
  WebhookEndpoint,
  WebhookEndpointStore,
} from '../ports/webhook-store.ts';
import { pageOf } from './in-memory-stores.ts';

// In-memory fakes of the webhook ports; the same contract suite runs against them and DynamoDB.

const copy = <T>(value: T): T => structuredClone(value);

export class InMemoryWebhookEndpointStore implements WebhookEndpointStore {
  readonly items = new Map<string, WebhookEndpoint>();

  async create(endpoint: WebhookEndpoint): Promise<boolean> {
    if (this.items.has(endpoint.webhookId)) return false;
    this.items.set(endpoint.webhookId, copy(endpoint));
    return true;
  }
  async get(webhookId: string): Promise<WebhookEndpoint | undefined> {
    return copy(this.items.get(webhookId));
  }
  async listByTenant(tenantId: string): Promise<WebhookEndpoint[]> {
    return [...this.items.values()]
      .filter((e) => e.tenantId === tenantId)
      .sort((a, b) => `${a.createdAt}#${a.webhookId}`.localeCompare(`${b.createdAt}#${b.webhookId}`))
      .map(copy);
  }
  async delete(tenantId: string, webhookId: string): Promise<boolean> {
    if (this.items.get(webhookId)?.tenantId !== tenantId) return false;
    return this.items.delete(webhookId);
  }
}

type DeliveryKey = Pick<Delivery, 'webhookId' | 'eventId' | 'type' | 'createdAt'>;

export class InMemoryDeliveryLog implements DeliveryLog {
  readonly items = new Map<string, Delivery>();
  /** The jobs of pending deliveries recorded with one (DynamoDB's sparse gsi2), by delivery key. */
  private readonly pendingJobs = new Map<string, WebhookDeliveryJob>();
  private key = (webhookId: string, eventId: string) => `${webhookId}#${eventId}`;

  async recordPending(d: DeliveryKey, job?: WebhookDeliveryJob): Promise<void> {
    const key = this.key(d.webhookId, d.eventId);
    if (this.items.has(key)) return;
    this.items.set(key, { ...d, attempts: 0, state: 'pending', updatedAt: d.createdAt });
    if (job) this.pendingJobs.set(key, copy(job));
  }
  async pendingBefore(
    webhookId: string,
    sessionId: string,
    before: string,
    limit: number,
  ): Promise<WebhookDeliveryJob[]> {
    const order = (j: WebhookDeliveryJob) => pendingOrderKey(j.envelope.timestamp, j.eventId);
    // Code-unit order, as DynamoDB sorts string keys by their bytes.
    const byKey = (a: WebhookDeliveryJob, b: WebhookDeliveryJob) =>
      order(a) < order(b) ? -1 : order(a) > order(b) ? 1 : 0;
    return [...this.pendingJobs.values()]
      .filter((j) => j.webhookId === webhookId && j.sessionId === sessionId)
      .filter((j) => order(j) < eventOrderTime(before))
      .sort(byKey)
      .slice(0, limit)
      .map(copy);
  }
  async get(webhookId: string, eventId: string): Promise<Delivery | undefined> {
    return copy(this.items.get(this.key(webhookId, eventId)));
  }
  async recordAttempt(d: DeliveryKey, outcome: AttemptOutcome): Promise<Delivery> {
    const key = this.key(d.webhookId, d.eventId);
    const current = this.items.get(key);
    if (current && current.state !== 'pending') return copy(current);
    const fresh: Delivery = { ...d, attempts: 0, state: 'pending', updatedAt: outcome.now };
    const { lastStatus: _s, lastError: _e, ...kept } = current ?? fresh;
    const next: Delivery = {
      ...kept,
      attempts: kept.attempts + 1,
      state: outcome.state,
      ...(outcome.lastStatus !== undefined && { lastStatus: outcome.lastStatus }),
      ...(outcome.lastError !== undefined && { lastError: outcome.lastError }),
      firstAttemptAt: kept.firstAttemptAt ?? outcome.now,
      updatedAt: outcome.now,
    };
    this.items.set(key, next);
    if (next.state !== 'pending') this.pendingJobs.delete(key);
    return copy(next);
  }
  async list(webhookId: string, page: PageRequest): Promise<Page<Delivery>> {
    // The endpoint in the key: a cursor of another endpoint's listing is refused, as DynamoDB's are.
    const sortKey = (d: Delivery) => `${d.webhookId}#${d.createdAt}#${d.eventId}`;
    const sorted = [...this.items.values()]
      .filter((d) => d.webhookId === webhookId)
      .sort((a, b) => sortKey(b).localeCompare(sortKey(a)));
    return pageOf(sorted, sortKey, page);
  }
}

/** Records enqueued jobs; `failNext` makes the next enqueue throw like an SQS outage. */
export class RecordingWebhookJobQueue implements WebhookJobQueue {
  readonly jobs: WebhookDeliveryJob[] = [];
  failNext?: Error;

  async enqueue(jobs: WebhookDeliveryJob[]): Promise<void> {
    if (this.failNext) {
      const error = this.failNext;
      this.failNext = undefined;
      throw error;
    }
    this.jobs.push(...jobs.map(copy));
  }
}

/** Records what the delivery consumer asked of the queue. */
export class RecordingJobControl implements WebhookJobControl {
  readonly retries: { receiptHandle: string; delaySeconds: number }[] = [];
  readonly deadLetters: { body: string; reason: string }[] = [];

  async retryLater(receiptHandle: string, delaySeconds: number): Promise<void> {
    this.retries.push({ receiptHandle, delaySeconds });
  }
  async deadLetter(body: string, reason: string): Promise<void> {
    this.deadLetters.push({ body, reason });
  }
}
