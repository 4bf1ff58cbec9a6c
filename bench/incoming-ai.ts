import {
  ChangeMessageVisibilityBatchCommand,
  ChangeMessageVisibilityCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { startIncomingPoller } from '#local/stack.ts';

/**
 * The fault stack's SQS double has no batch actions: the event source's batch deletes and visibility
 * changes go out one entry at a time (the bench feeds one inbound text per batch, so the count is
 * the same as the batch call's).
 */
const withoutBatches = (sqs: SQSClient): SQSClient => {
  const send = async (command: unknown) => {
    if (command instanceof DeleteMessageBatchCommand) {
      const { QueueUrl, Entries = [] } = command.input;
      await Promise.all(
        Entries.map((e) => sqs.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: e.ReceiptHandle }))),
      );
      return { Successful: Entries.map((e) => ({ Id: e.Id })), Failed: [] };
    }
    if (command instanceof ChangeMessageVisibilityBatchCommand) {
      const { QueueUrl, Entries = [] } = command.input;
      await Promise.all(
        Entries.map((e) =>
          sqs.send(
            new ChangeMessageVisibilityCommand({
              QueueUrl,
              ReceiptHandle: e.ReceiptHandle,
              VisibilityTimeout: e.VisibilityTimeout,
            }),
          ),
        ),
      );
      return { Successful: Entries.map((e) => ({ Id: e.Id })), Failed: [] };
    }
    // biome-ignore lint/suspicious/noExplicitAny: passes any other command through unchanged
    return sqs.send(command as any);
  };
  return { config: sqs.config, send } as unknown as SQSClient;
};

/**
 * The AI worker on `incoming.fifo` in this process, as the local stack runs it (the offline model);
 * imported once the fault stack has set the environment, so its composition root reads it.
 */
export const startIncomingAi = () =>
  startIncomingPoller(process.env as Record<string, string>, withoutBatches);
