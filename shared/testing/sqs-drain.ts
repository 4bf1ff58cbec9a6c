import { DeleteMessageCommand, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';

/**
 * Receives and deletes every waiting message of a queue, parsed, with its group id. FIFO queues
 * hand out one message per group per receive, so this loops until a receive comes back empty.
 */
export const drainQueue = async (
  sqs: SQSClient,
  queueUrl: string | undefined,
): Promise<Record<string, unknown>[]> => {
  const messages: Record<string, unknown>[] = [];
  for (;;) {
    const out = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 0,
        MessageSystemAttributeNames: ['MessageGroupId'],
      }),
    );
    if (!out.Messages?.length) return messages;
    for (const m of out.Messages) {
      messages.push({ ...JSON.parse(m.Body ?? '{}'), group: m.Attributes?.MessageGroupId });
      await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: m.ReceiptHandle }));
    }
  }
};
