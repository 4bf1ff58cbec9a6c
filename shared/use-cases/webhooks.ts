import { randomBytes } from 'node:crypto';
import {
  isWebhookEventType,
  WEBHOOK_EVENT_TYPES,
  type WebhookDeliveryJob,
  type WebhookEventType,
} from '../contracts/webhook-events.ts';
import { stableEventId } from '../domain/webhook-events-from-changes.ts';
import { newWebhookSecret } from '../domain/webhook-signature.ts';
import { vetWebhookUrl, type WebhookUrlOptions } from '../domain/webhook-url-policy.ts';
import { AppError, ConflictError, NotFoundError } from '../errors.ts';
import type { AddressResolver } from '../ports/address-resolver.ts';
import type { Clock } from '../ports/clock.ts';
import type { WebhookJobQueue } from '../ports/webhook-delivery.ts';
import type { Delivery, DeliveryLog, WebhookEndpoint, WebhookEndpointStore } from '../ports/webhook-store.ts';

/** The ports of the webhook management use cases (the tenant API's webhook routes). */
export interface WebhookDeps {
  endpoints: WebhookEndpointStore;
  deliveries: DeliveryLog;
  jobs: WebhookJobQueue;
  resolver: AddressResolver;
  clock: Clock;
  /** Local stack only: `{ allowLoopback: true }`. */
  urlOptions: WebhookUrlOptions;
}

/** Endpoints per tenant: every event fans out to each of them. */
export const MAX_WEBHOOKS_PER_TENANT = 10;
export const DEFAULT_DELIVERY_PAGE_SIZE = 50;
/** Events a new endpoint gets when it names none: all but the test event (which is always sent). */
const DEFAULT_EVENTS = WEBHOOK_EVENT_TYPES.filter((t) => t !== 'webhook.test');
/** The group key of test events: tested endpoints get them in order, apart from session events. */
const TEST_GROUP = 'webhook-test';

export interface CreateWebhookInput {
  url: string;
  events?: string[];
  chatbotId?: string;
  description?: string;
}

/** An endpoint as the API shows it: never its secret. */
export type WebhookView = Omit<WebhookEndpoint, 'secret'>;

export const toWebhookView = ({ secret: _secret, ...view }: WebhookEndpoint): WebhookView => view;

export class InvalidWebhookUrlError extends AppError {
  constructor(reason: string) {
    super('invalid', 'INVALID_WEBHOOK_URL', `The webhook URL is not allowed: ${reason}`, [
      { path: 'body.url', message: reason },
    ]);
  }
}

export class UnknownEventTypeError extends AppError {
  constructor(unknown: string[]) {
    const valid = WEBHOOK_EVENT_TYPES.join(', ');
    super(
      'invalid',
      'UNKNOWN_EVENT_TYPE',
      `Unknown event type ${unknown.join(', ')}; valid types: ${valid}`,
      [{ path: 'body.events', message: `must be among: ${valid}` }],
    );
  }
}

const notFound = () => new NotFoundError('WEBHOOK_NOT_FOUND', 'No such webhook');

const newWebhookId = () => `wh_${randomBytes(12).toString('base64url')}`;

/**
 * Registers an endpoint: the URL must be https:// to a host resolving to public addresses (400
 * with the reason otherwise), every event type must exist (400 listing the valid ones). Answers
 * the endpoint with its `whsec_` secret: the only time the secret is shown.
 */
export const createWebhook = async (
  deps: WebhookDeps,
  tenantId: string,
  input: CreateWebhookInput,
): Promise<WebhookView & { secret: string }> => {
  const events = [...new Set(input.events?.length ? input.events : DEFAULT_EVENTS)];
  const unknown = events.filter((e) => !isWebhookEventType(e));
  if (unknown.length > 0) throw new UnknownEventTypeError(unknown);
  const vetted = await vetWebhookUrl(input.url, deps.resolver, deps.urlOptions);
  if (!vetted.ok) throw new InvalidWebhookUrlError(vetted.reason);
  const existing = await deps.endpoints.listByTenant(tenantId);
  if (existing.length >= MAX_WEBHOOKS_PER_TENANT) {
    throw new ConflictError('WEBHOOK_LIMIT', `A tenant can have at most ${MAX_WEBHOOKS_PER_TENANT} webhooks`);
  }
  const endpoint: WebhookEndpoint = {
    webhookId: newWebhookId(),
    tenantId,
    url: input.url,
    events: events as WebhookEventType[],
    ...(input.chatbotId && { chatbotId: input.chatbotId }),
    ...(input.description && { description: input.description }),
    secret: newWebhookSecret(),
    createdAt: deps.clock.now().toISOString(),
  };
  if (!(await deps.endpoints.create(endpoint))) throw new Error('Webhook id collision');
  return { ...toWebhookView(endpoint), secret: endpoint.secret };
};

/** The tenant's endpoints, oldest first, without secrets. */
export const listWebhooks = async (deps: Pick<WebhookDeps, 'endpoints'>, tenantId: string) => ({
  items: (await deps.endpoints.listByTenant(tenantId)).map(toWebhookView),
});

/** Deletes the tenant's endpoint; 404 for an unknown id and for another tenant's. Queued jobs are dropped. */
export const deleteWebhook = async (
  deps: Pick<WebhookDeps, 'endpoints'>,
  tenantId: string,
  webhookId: string,
): Promise<void> => {
  if (!(await deps.endpoints.delete(tenantId, webhookId))) throw notFound();
};

const loadOwnWebhook = async (deps: Pick<WebhookDeps, 'endpoints'>, tenantId: string, webhookId: string) => {
  const endpoint = await deps.endpoints.get(webhookId);
  if (!endpoint || endpoint.tenantId !== tenantId) throw notFound();
  return endpoint;
};

/** Queues a `webhook.test` event to this endpoint only; answers its event id (see its delivery). */
export const testWebhook = async (
  deps: WebhookDeps,
  tenantId: string,
  webhookId: string,
): Promise<{ eventId: string }> => {
  await loadOwnWebhook(deps, tenantId, webhookId);
  const now = deps.clock.now().toISOString();
  const eventId = stableEventId(webhookId, 'webhook.test', now, randomBytes(8).toString('hex'));
  const job: WebhookDeliveryJob = {
    v: 1,
    eventId,
    webhookId,
    tenantId,
    sessionId: TEST_GROUP,
    enqueuedAt: now,
    envelope: { type: 'webhook.test', timestamp: now, data: { webhookId } },
  };
  await deps.deliveries.recordPending({ webhookId, eventId, type: 'webhook.test', createdAt: now }, job);
  await deps.jobs.enqueue([job]);
  return { eventId };
};

/** The endpoint's deliveries, newest first, paged; 404 for another tenant's endpoint. */
export const listDeliveries = async (
  deps: Pick<WebhookDeps, 'endpoints' | 'deliveries'>,
  tenantId: string,
  webhookId: string,
  query: { cursor?: string; limit?: number },
): Promise<{ items: Delivery[]; nextCursor?: string }> => {
  await loadOwnWebhook(deps, tenantId, webhookId);
  const page = await deps.deliveries.list(webhookId, {
    limit: query.limit ?? DEFAULT_DELIVERY_PAGE_SIZE,
    ...(query.cursor && { cursor: query.cursor }),
  });
  return { items: page.items, ...(page.nextCursor && { nextCursor: page.nextCursor }) };
};
