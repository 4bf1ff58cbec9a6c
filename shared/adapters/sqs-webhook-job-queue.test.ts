import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebhookDeliveryJob } from '../contracts/webhook-events.ts';
import { provisionTestAws, type TestAws } from '../testing/aws-test-env.ts';
import { drainQueue } from '../testing/sqs-drain.ts';
import { SqsWebhookJobQueue } from './sqs-webhook-job-queue.ts';

let aws: TestAws;
let queue: SqsWebhookJobQueue;
beforeAll(async () => {
  aws = await provisionTestAws();
  queue = new SqsWebhookJobQueue(
    aws.clients.sqs,
    aws.env.WEBHOOK_DELIVERY_QUEUE_URL as string,
    aws.env.WEBHOOK_DELIVERY_DLQ_URL,
  );
});
afterAll(() => aws?.destroy());

const SESSION = '8a1f7c2e-6d3b-4f4e-9a0b-1c2d3e4f5a6b';
const job = (webhookId: string, n: number): WebhookDeliveryJob => ({
  v: 1,
  eventId: `evt_${webhookId}_${n}`,
  webhookId,
  tenantId: 'tenant-a',
  sessionId: SESSION,
  enqueuedAt: '2026-01-01T12:00:00.000Z',
  envelope: { type: 'webhook.test', timestamp: '2026-01-01T12:00:00.000Z', data: { webhookId } },
});

describe('SQS webhook job queue on the SQS stand-in', () => {
  it('enqueues jobs in order per endpoint and session, in batches, and drops a repeated job', async () => {
    const jobs = Array.from({ length: 12 }, (_, n) => job(n % 2 ? 'wh_a' : 'wh_b', n));
    await queue.enqueue(jobs);
    await queue.enqueue([jobs[0] as WebhookDeliveryJob, jobs[1] as WebhookDeliveryJob]);
    const received = await drainQueue(aws.clients.sqs, aws.env.WEBHOOK_DELIVERY_QUEUE_URL);
    expect(received).toHaveLength(12);
    for (const webhookId of ['wh_a', 'wh_b']) {
      const mine = received.filter((m) => m.webhookId === webhookId);
      expect(mine.map((m) => m.eventId)).toEqual(
        jobs.filter((j) => j.webhookId === webhookId).map((j) => j.eventId),
      );
      expect(new Set(mine.map((m) => m.group))).toEqual(new Set([`${webhookId}:${SESSION}`]));
    }
  });

  it('keeps a job invisible for the delay asked, and moves an invalid one to the dead-letter queue', async () => {
    await queue.enqueue([job('wh_c', 1)]);
    const first = await aws.clients.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: aws.env.WEBHOOK_DELIVERY_QUEUE_URL, WaitTimeSeconds: 1 }),
    );
    const handle = first.Messages?.[0]?.ReceiptHandle as string;
    await queue.retryLater(handle, 600);
    expect(await drainQueue(aws.clients.sqs, aws.env.WEBHOOK_DELIVERY_QUEUE_URL)).toEqual([]);

    await queue.deadLetter('{"not":"a job"}', 'v: expected 1');
    const dead = await aws.clients.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: aws.env.WEBHOOK_DELIVERY_DLQ_URL,
        WaitTimeSeconds: 1,
        MessageAttributeNames: ['All'],
      }),
    );
    expect(dead.Messages?.[0]?.Body).toBe('{"not":"a job"}');
    expect(dead.Messages?.[0]?.MessageAttributes?.reason?.StringValue).toBe('v: expected 1');
  });
});
