import { createHash } from 'node:crypto';
import {
  ChangeMessageVisibilityCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { WebhookDeliveryJob } from '../contracts/webhook-events.ts';
import { DependencyUnavailableError } from '../errors.ts';
import type { WebhookJobControl, WebhookJobQueue } from '../ports/webhook-delivery.ts';
import { guard } from './aws-errors.ts';

/**
 * One message group per (endpoint, session): events of a session reach an endpoint in order, and an
 * endpoint that keeps failing blocks only its own groups.
 */
export const deliveryGroupId = (job: Pick<WebhookDeliveryJob, 'webhookId' | 'sessionId'>): string =>
  `${job.webhookId}:${job.sessionId}`.slice(0, 128);

/** Deduplicates a job by (event, endpoint): a redelivered stream batch enqueues nothing twice. */
export const deliveryDedupId = (job: Pick<WebhookDeliveryJob, 'eventId' | 'webhookId'>): string =>
  createHash('sha256').update(`${job.eventId}:${job.webhookId}`).digest('hex');

const BATCH = 10;

/** `webhook-deliveries.fifo` and its dead-letter queue. */
export class SqsWebhookJobQueue implements WebhookJobQueue, WebhookJobControl {
  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
    private readonly deadLetterUrl?: string,
  ) {}

  async enqueue(jobs: WebhookDeliveryJob[]): Promise<void> {
    // In order, batch after batch: SQS keeps the order of one group across sequential sends.
    for (let i = 0; i < jobs.length; i += BATCH) {
      const entries = jobs.slice(i, i + BATCH).map((job, n) => {
        const body = WebhookDeliveryJob.parse(job);
        return {
          Id: String(n),
          MessageBody: JSON.stringify(body),
          MessageGroupId: deliveryGroupId(body),
          MessageDeduplicationId: deliveryDedupId(body),
        };
      });
      const out = await guard('sqs', () =>
        this.sqs.send(new SendMessageBatchCommand({ QueueUrl: this.queueUrl, Entries: entries })),
      );
      if (out.Failed?.length) {
        const codes = out.Failed.map((f) => f.Code).join(', ');
        throw new DependencyUnavailableError(
          'sqs',
          new Error(`${out.Failed.length} jobs not enqueued: ${codes}`),
        );
      }
    }
  }

  async retryLater(receiptHandle: string, delaySeconds: number): Promise<void> {
    await guard('sqs', () =>
      this.sqs.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: this.queueUrl,
          ReceiptHandle: receiptHandle,
          VisibilityTimeout: delaySeconds,
        }),
      ),
    );
  }

  async deadLetter(body: string, reason: string): Promise<void> {
    if (!this.deadLetterUrl) throw new Error('No dead-letter queue configured for webhook deliveries');
    const id = createHash('sha256').update(body).digest('hex');
    await guard('sqs', () =>
      this.sqs.send(
        new SendMessageCommand({
          QueueUrl: this.deadLetterUrl,
          MessageBody: body,
          MessageGroupId: 'invalid',
          MessageDeduplicationId: id,
          MessageAttributes: { reason: { DataType: 'String', StringValue: reason.slice(0, 1000) } },
        }),
      ),
    );
  }
}
