import {
  WEBHOOK_EVENTS,
  type WebhookDeliveryJob,
  type WebhookEnvelope,
} from '../contracts/webhook-events.ts';
import type { EventDraft } from '../domain/webhook-events-from-changes.ts';
import type { Clock } from '../ports/clock.ts';
import type { SessionStore } from '../ports/session-store.ts';
import type { WebhookJobQueue } from '../ports/webhook-delivery.ts';
import type { DeliveryLog, WebhookEndpoint, WebhookEndpointStore } from '../ports/webhook-store.ts';

/** The ports of the fan-out (stored changes → one delivery job per matching endpoint). */
export interface FanoutDeps {
  endpoints: Pick<WebhookEndpointStore, 'listByTenant'>;
  deliveries: Pick<DeliveryLog, 'recordPending'>;
  /** To learn the chatbot of an event whose item does not carry it (messages). */
  sessions: Pick<SessionStore, 'get'>;
  jobs: WebhookJobQueue;
  clock: Clock;
}

export interface FanoutResult {
  jobs: number;
  /** Events dropped because they did not pass their schema (logged by the caller, never retried). */
  invalid: { eventId: string; type: string; problems: string[] }[];
}

/** Types whose data names the chatbot. */
const DATA_HAS_CHATBOT = new Set(['session.status', 'message.received']);

const matches = (endpoint: WebhookEndpoint, type: string, chatbotId: string | undefined) =>
  endpoint.events.includes(type as WebhookEndpoint['events'][number]) &&
  (!endpoint.chatbotId || endpoint.chatbotId === chatbotId);

/**
 * Fans events out: for each event, every endpoint of its tenant subscribed to its type (and to
 * its chatbot, when the endpoint filters) gets one pending delivery and one job, in event order.
 * Idempotent: a repeated call with the same events records and enqueues nothing new (stable event
 * ids, deduplicated jobs). Throws when the queue or a store is down: the caller retries the batch.
 */
export const fanOutEvents = async (deps: FanoutDeps, drafts: EventDraft[]): Promise<FanoutResult> => {
  const endpointsByTenant = new Map<string, Promise<WebhookEndpoint[]>>();
  const chatbotBySession = new Map<string, Promise<string | undefined>>();
  const endpointsOf = (tenantId: string) => {
    let found = endpointsByTenant.get(tenantId);
    if (!found) {
      found = deps.endpoints.listByTenant(tenantId);
      endpointsByTenant.set(tenantId, found);
    }
    return found;
  };
  const chatbotOf = (draft: EventDraft) => {
    if (draft.chatbotId) return Promise.resolve(draft.chatbotId);
    let found = chatbotBySession.get(draft.sessionId);
    if (!found) {
      found = deps.sessions
        .get(draft.sessionId)
        .then((s) => (s?.tenantId === draft.tenantId ? s.chatbotId : undefined));
      chatbotBySession.set(draft.sessionId, found);
    }
    return found;
  };

  const jobs: WebhookDeliveryJob[] = [];
  const invalid: FanoutResult['invalid'] = [];
  const enqueuedAt = deps.clock.now().toISOString();
  for (const draft of drafts) {
    const endpoints = (await endpointsOf(draft.tenantId)).filter((e) => e.events.includes(draft.type));
    if (endpoints.length === 0) continue; // no session lookup for tenants without webhooks
    const chatbotId = await chatbotOf(draft);
    const data = DATA_HAS_CHATBOT.has(draft.type) ? { ...draft.data, chatbotId } : draft.data;
    const parsed = WEBHOOK_EVENTS[draft.type].safeParse(data);
    if (!parsed.success) {
      invalid.push({
        eventId: draft.eventId,
        type: draft.type,
        problems: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`),
      });
      continue;
    }
    const envelope = { type: draft.type, timestamp: draft.timestamp, data: parsed.data } as WebhookEnvelope;
    for (const endpoint of endpoints.filter((e) => matches(e, draft.type, chatbotId))) {
      jobs.push({
        v: 1,
        eventId: draft.eventId,
        webhookId: endpoint.webhookId,
        tenantId: draft.tenantId,
        sessionId: draft.sessionId,
        enqueuedAt,
        envelope,
      });
    }
  }
  // Listed as pending, with the job, before they are queued: a delivery never misses its log entry,
  // and a worker of the group delivers it in event order even when its job is queued late (another
  // stream's batch seen later, or an entry SQS refused in a batch and sent again after later ones).
  await Promise.all(
    jobs.map((job) =>
      deps.deliveries.recordPending(
        {
          webhookId: job.webhookId,
          eventId: job.eventId,
          type: job.envelope.type,
          createdAt: job.envelope.timestamp,
        },
        job,
      ),
    ),
  );
  if (jobs.length > 0) await deps.jobs.enqueue(jobs);
  return { jobs: jobs.length, invalid };
};
