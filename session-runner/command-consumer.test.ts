import { GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '#shared/logger.ts';
import { provisionTestAws, type TestAws } from '#shared/testing/aws-test-env.ts';
import { drainQueue } from '#shared/testing/sqs-drain.ts';
import { CommandConsumer } from './command-consumer.ts';

let aws: TestAws;
let queueUrl: string;
beforeAll(async () => {
  aws = await provisionTestAws();
  queueUrl = aws.env.COMMAND_QUEUE_URLS?.split(',')[0] as string;
  process.env.POWERTOOLS_LOG_LEVEL = 'CRITICAL';
});
afterAll(() => aws?.destroy());

const send = (body: string, group: string, id: string) =>
  aws.clients.sqs.send(
    new SendMessageCommand({
      QueueUrl: queueUrl,
      MessageBody: body,
      MessageGroupId: group,
      MessageDeduplicationId: id,
    }),
  );

describe('CommandConsumer', () => {
  it('moves a malformed command to the DLQ with its reason, and the session group goes on in order', async () => {
    const sessionId = '11111111-1111-4111-8111-111111111111';
    await send('{not json', sessionId, 'bad-1');
    await send(JSON.stringify({ v: 1, type: 'start', sessionId, commandId: 'c1' }), sessionId, 'c1');
    await send(
      JSON.stringify({ v: 1, type: 'stop', sessionId, commandId: 'c2', logout: false }),
      sessionId,
      'c2',
    );
    const handled: string[] = [];
    const consumer = new CommandConsumer({
      sqs: aws.clients.sqs,
      queueUrl,
      logger: createLogger('test'),
      waitSeconds: 1,
      handle: async (command) => {
        handled.push(command.commandId);
        return { kind: 'done' };
      },
    });
    consumer.start();
    const deadline = Date.now() + 15_000;
    while (handled.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    await consumer.stop();
    expect(handled).toEqual(['c1', 'c2']);

    const dlqUrl = queueUrl.replace(/commands-0\.fifo$/, 'commands-0-dlq.fifo');
    const out = await aws.clients.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: dlqUrl, MessageAttributeNames: ['All'], WaitTimeSeconds: 0 }),
    );
    expect(out.Messages?.[0]?.Body).toBe('{not json');
    expect(out.Messages?.[0]?.MessageAttributes?.reason?.StringValue).toContain('expected object');
    expect(await drainQueue(aws.clients.sqs, queueUrl)).toEqual([]);
  });

  it('leaves a failing command for redelivery instead of deleting it', async () => {
    const sessionId = '22222222-2222-4222-8222-222222222222';
    // The previous consumer's aborted long poll may still be open on the server for its 1 s wait.
    await new Promise((r) => setTimeout(r, 1500));
    await send(JSON.stringify({ v: 1, type: 'start', sessionId, commandId: 'boom' }), sessionId, 'boom');
    let attempts = 0;
    const consumer = new CommandConsumer({
      sqs: aws.clients.sqs,
      queueUrl,
      logger: createLogger('test'),
      waitSeconds: 1,
      handle: async () => {
        attempts++;
        throw new Error('DynamoDB down');
      },
    });
    consumer.start();
    const deadline = Date.now() + 10_000;
    while (attempts < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    await consumer.stop();
    expect(attempts).toBe(1);
    // Still in the queue (in flight until its visibility timeout), not deleted.
    const attributes = await aws.clients.sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: queueUrl,
        AttributeNames: ['ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    expect(Number(attributes.Attributes?.ApproximateNumberOfMessagesNotVisible)).toBe(1);
  });
});
