import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { guard } from '#shared/adapters/aws-errors.ts';
import { MessageReceived } from '#shared/contracts/incoming.ts';

export type IncomingPublisher = (message: MessageReceived) => Promise<void>;

/** Publishes to `incoming.fifo`: one ordered group per session and chat, deduplicated by the WhatsApp id. */
export const sqsIncomingPublisher =
  (sqs: SQSClient, queueUrl: string): IncomingPublisher =>
  async (message) => {
    const body = MessageReceived.parse(message);
    await guard('sqs', () =>
      sqs.send(
        new SendMessageCommand({
          QueueUrl: queueUrl,
          MessageBody: JSON.stringify(body),
          MessageGroupId: `${body.sessionId}:${body.chat}`.slice(0, 128),
          MessageDeduplicationId: body.waMessageId.slice(0, 128),
        }),
      ),
    );
  };
