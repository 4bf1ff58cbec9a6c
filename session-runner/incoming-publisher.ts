import { createHash } from 'node:crypto';
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { guard } from '#shared/adapters/aws-errors.ts';
import { MessageReceived } from '#shared/contracts/incoming.ts';

/** Hands one incoming message over; resolves once it is durably stored (rejects when it could not be). */
export type IncomingPublisher = (message: MessageReceived) => Promise<void>;

/** One FIFO group per session and chat: per-chat order, chats in parallel. */
export const incomingGroupId = (m: Pick<MessageReceived, 'sessionId' | 'chat'>): string =>
  `${m.sessionId}:${m.chat}`.slice(0, 128);

/**
 * Deduplication per session and chat: a WhatsApp id is unique only within one chat of one device,
 * so two sessions (or tenants) receiving the same id within SQS's 5 minutes both get through.
 */
export const incomingDedupId = (m: Pick<MessageReceived, 'sessionId' | 'chat' | 'waMessageId'>): string =>
  createHash('sha256').update(`${m.sessionId}\n${m.chat}\n${m.waMessageId}`).digest('hex');

/**
 * Publishes to `incoming.fifo`. `timeoutMs` bounds the whole call (the SDK's retries included), so
 * that during an outage the outbox spools to S3 soon instead of holding the message in memory.
 */
export const sqsIncomingPublisher =
  (sqs: SQSClient, queueUrl: string, timeoutMs = 5000): IncomingPublisher =>
  async (message) => {
    const body = MessageReceived.parse(message);
    await guard('sqs', () =>
      sqs.send(
        new SendMessageCommand({
          QueueUrl: queueUrl,
          MessageBody: JSON.stringify(body),
          MessageGroupId: incomingGroupId(body),
          MessageDeduplicationId: incomingDedupId(body),
        }),
        { abortSignal: AbortSignal.timeout(timeoutMs) },
      ),
    );
  };
