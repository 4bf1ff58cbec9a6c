import type { WebhookDeliveryJob, WebhookEventType } from '../contracts/webhook-events.ts';
import type { Page, PageRequest } from './page.ts';

/** A tenant's webhook endpoint. */
export interface WebhookEndpoint {
  webhookId: string;
  tenantId: string;
  url: string;
  /** The event types it receives. */
  events: WebhookEventType[];
  /** Only events of this chatbot, when set. */
  chatbotId?: string;
  description?: string;
  /**
   * `whsec_<base64>`, shown to the tenant once at creation. Stored as is (the table is encrypted at
   * rest by DynamoDB); encrypting it with a KMS key of our own is a later step.
   */
  secret: string;
  createdAt: string;
}

/** The endpoints of tenants. */
export interface WebhookEndpointStore {
  /** Stores a new endpoint; false when the id is taken. */
  create(endpoint: WebhookEndpoint): Promise<boolean>;
  get(webhookId: string): Promise<WebhookEndpoint | undefined>;
  /** Every endpoint of the tenant, oldest first (a tenant has few: creation caps them). */
  listByTenant(tenantId: string): Promise<WebhookEndpoint[]>;
  /** Deletes the tenant's endpoint; false when there is no such endpoint of this tenant. */
  delete(tenantId: string, webhookId: string): Promise<boolean>;
}

export const DELIVERY_STATES = ['pending', 'delivered', 'failed'] as const;
export type DeliveryState = (typeof DELIVERY_STATES)[number];

/** The delivery of one event to one endpoint. */
export interface Delivery {
  webhookId: string;
  eventId: string;
  type: WebhookEventType;
  attempts: number;
  state: DeliveryState;
  /** The HTTP status of the last attempt, when an answer came. */
  lastStatus?: number;
  /** Why the last attempt failed (never the response body). */
  lastError?: string;
  /** When the event happened: the listing's order, newest first. */
  createdAt: string;
  /** When the first attempt was made: the start of the retry window. */
  firstAttemptAt?: string;
  updatedAt: string;
}

export interface AttemptOutcome {
  state: DeliveryState;
  lastStatus?: number;
  lastError?: string;
  now: string;
}

/** The log of deliveries per endpoint, with their attempts. */
export interface DeliveryLog {
  /**
   * Records a delivery as pending with no attempt, unless it is already recorded (fan-out
   * redelivered). With its job, the delivery is also listed among its group's pending deliveries
   * (`pendingBefore`) until it is final, so a worker can deliver it from there, ahead of its turn.
   */
  recordPending(
    delivery: Pick<Delivery, 'webhookId' | 'eventId' | 'type' | 'createdAt'>,
    job?: WebhookDeliveryJob,
  ): Promise<void>;
  /**
   * The jobs of the group (endpoint, session) still pending whose event happened strictly before
   * `before` (an ISO time), oldest first (then by event id), at most `limit` (fewer when some it
   * read were final). Read from an index: a delivery recorded a moment ago may be missing, and
   * one made final a moment ago may still be listed.
   */
  pendingBefore(
    webhookId: string,
    sessionId: string,
    before: string,
    limit: number,
  ): Promise<WebhookDeliveryJob[]>;
  get(webhookId: string, eventId: string): Promise<Delivery | undefined>;
  /**
   * Counts one attempt and stores its outcome (creating the record when missing); answers the
   * record after it. A delivered or failed record is final and is answered unchanged.
   */
  recordAttempt(
    delivery: Pick<Delivery, 'webhookId' | 'eventId' | 'type' | 'createdAt'>,
    outcome: AttemptOutcome,
  ): Promise<Delivery>;
  /** The endpoint's deliveries, newest event first. */
  list(webhookId: string, page: PageRequest): Promise<Page<Delivery>>;
}
