import type { WebhookDeliveryJob } from '../contracts/webhook-events.ts';
import type { ResolvedAddress } from './address-resolver.ts';

/** Where delivery jobs are queued (`webhook-deliveries.fifo`). */
export interface WebhookJobQueue {
  /**
   * Enqueues the jobs, ordered per (endpoint, session) and deduplicated by (event, endpoint), so
   * a redelivered stream batch enqueues nothing twice. Throws when any job could not be enqueued.
   */
  enqueue(jobs: WebhookDeliveryJob[]): Promise<void>;
}

/** What the delivery consumer does with a received job besides acknowledging it. */
export interface WebhookJobControl {
  /** Keeps the received job invisible for `delaySeconds`: its next attempt (its group waits too). */
  retryLater(receiptHandle: string, delaySeconds: number): Promise<void>;
  /** Moves a job that can never be delivered (not a valid job) to the dead-letter queue. */
  deadLetter(body: string, reason: string): Promise<void>;
}

/** One signed POST, to an address vetted beforehand. */
export interface WebhookRequest {
  url: URL;
  /** The address to connect to; the URL's host name is still sent as Host and TLS server name. */
  address: ResolvedAddress;
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
}

/** What came back: a status, or no answer (timeout, refused, TLS failure). The body is never read. */
export type WebhookResponse = { status: number } | { error: string };

/** Sends webhook requests over the network. */
export interface WebhookSender {
  send(request: WebhookRequest): Promise<WebhookResponse>;
}
