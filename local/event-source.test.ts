import {
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { afterEach, describe, expect, it } from 'vitest';
import { provisionTestAws, type TestAws } from '#shared/testing/aws-test-env.ts';
import { type SqsEventSource, startSqsEventSource } from './event-source.ts';

// The local event source mapping against the SQS stand-in (FIFO queue with a DLQ after 5 receives).

let aws: TestAws | undefined;
let source: SqsEventSource | undefined;
afterEach(async () => {
  await source?.stop();
  source = undefined;
  aws?.destroy();
});

const setup = async () => {
  aws = await provisionTestAws();
  const queueUrl = aws.env.INCOMING_QUEUE_URL as string;
  const send = (body: string, group: string) =>
    aws?.clients.sqs.send(
      new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: body,
        MessageGroupId: group,
        MessageDeduplicationId: body,
      }),
    );
  return { sqs: aws.clients.sqs, queueUrl, send };
};

const waitFor = async (check: () => boolean, timeoutMs = 10_000) => {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
};

const waitForAsync = async (check: () => Promise<boolean>, timeoutMs = 15_000) => {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
};

/** Messages the queue holds, visible or in flight. */
const messagesIn = async (sqs: SQSClient, queueUrl: string) => {
  const { Attributes: a = {} } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return Number(a.ApproximateNumberOfMessages) + Number(a.ApproximateNumberOfMessagesNotVisible);
};

describe('startSqsEventSource', () => {
  it('hands over batches shaped like the Lambda mapping and deletes what succeeded', async () => {
    const { sqs, queueUrl, send } = await setup();
    await send('a1', 'group-a');
    await send('b1', 'group-b');
    const events: SQSEvent[] = [];
    source = await startSqsEventSource({
      sqs,
      queueUrl,
      waitSeconds: 1,
      handler: async (event, context) => {
        expect(context.getRemainingTimeInMillis()).toBeGreaterThan(0);
        events.push(event);
        return { batchItemFailures: [] };
      },
    });
    await waitFor(() => events.flatMap((e) => e.Records).length === 2);
    const record = events[0]?.Records[0];
    expect(record).toMatchObject({
      messageId: expect.any(String),
      receiptHandle: expect.any(String),
      body: expect.stringMatching(/^[ab]1$/),
      eventSource: 'aws:sqs',
      eventSourceARN: expect.stringMatching(/^arn:aws:sqs:[^:]+:\d+:.*incoming\.fifo$/),
      awsRegion: expect.any(String),
      attributes: {
        ApproximateReceiveCount: '1',
        SentTimestamp: expect.stringMatching(/^\d+$/),
        MessageGroupId: expect.stringMatching(/^group-[ab]$/),
        MessageDeduplicationId: expect.stringMatching(/^[ab]1$/),
      },
      messageAttributes: {},
    });
    await source.stop();
    const left = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 0, VisibilityTimeout: 0 }),
    );
    expect(left.Messages ?? []).toEqual([]);
  });

  it('redelivers only the reported failures, with a growing receive count', async () => {
    const { sqs, queueUrl, send } = await setup();
    await send('ok', 'group-a');
    await send('flaky', 'group-b');
    const seen: { body: string; count: string | undefined }[] = [];
    source = await startSqsEventSource({
      sqs,
      queueUrl,
      waitSeconds: 1,
      failedVisibilityTimeout: 0,
      handler: async (event): Promise<SQSBatchResponse> => {
        const failures = [];
        for (const r of event.Records) {
          seen.push({ body: r.body, count: r.attributes.ApproximateReceiveCount });
          if (r.body === 'flaky' && r.attributes.ApproximateReceiveCount === '1') {
            failures.push({ itemIdentifier: r.messageId });
          }
        }
        return { batchItemFailures: failures };
      },
    });
    await waitFor(() => seen.length === 3);
    expect(seen).toEqual(
      expect.arrayContaining([
        { body: 'ok', count: '1' },
        { body: 'flaky', count: '1' },
        { body: 'flaky', count: '2' },
      ]),
    );
    // Once the queue holds nothing, visible or in flight, nothing can come again.
    await waitForAsync(async () => (await messagesIn(sqs, queueUrl)) === 0);
    expect(seen).toHaveLength(3);
  });

  it('fails the whole batch when the handler throws, and SQS dead-letters a record after its last receive', async () => {
    const { sqs, queueUrl, send } = await setup();
    await send('poison', 'group-a');
    let calls = 0;
    const errors: unknown[] = [];
    source = await startSqsEventSource({
      sqs,
      queueUrl,
      waitSeconds: 1,
      failedVisibilityTimeout: 0,
      onError: (e) => errors.push(e),
      handler: async () => {
        calls++;
        throw new Error('boom');
      },
    });
    await waitFor(() => calls === 5);
    // The receive after the fifth moves the record to the DLQ: once it is there, no call can follow.
    const dlqUrl = queueUrl.replace(/incoming\.fifo$/, 'incoming-dlq.fifo');
    let dead: (string | undefined)[] = [];
    await waitForAsync(async () => {
      const dlq = await sqs.send(new ReceiveMessageCommand({ QueueUrl: dlqUrl, WaitTimeSeconds: 1 }));
      dead = (dlq.Messages ?? []).map((m) => m.Body);
      return dead.length > 0;
    });
    expect(dead).toEqual(['poison']);
    expect(await messagesIn(sqs, queueUrl)).toBe(0);
    expect(calls).toBe(5);
    expect(errors).toHaveLength(5);
  });
});
