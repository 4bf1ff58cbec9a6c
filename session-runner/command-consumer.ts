import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { Command } from '#shared/contracts/commands.ts';
import type { Logger } from '#shared/logger.ts';

/** What to do with a command once handled: delete it, or leave it for a later receive. */
export type CommandResult = { kind: 'done' } | { kind: 'retry'; afterSeconds: number };

export type CommandHandler = (command: Command) => Promise<CommandResult>;

const MAX_IN_FLIGHT = 50;
const VISIBILITY_EXTENSION_SECONDS = 20;
const EXTEND_EVERY_MS = 7_000;

export interface ConsumerOptions {
  sqs: SQSClient;
  queueUrl: string;
  handle: CommandHandler;
  logger: Logger;
  waitSeconds?: number;
}

/**
 * Long-polls one `commands-<shard>.fifo`. FIFO hands out one message per session at a time, so
 * commands of a session run strictly in order; sessions run in parallel. A malformed command goes
 * straight to the dead-letter queue with its reason instead of blocking its session's group.
 */
export class CommandConsumer {
  private running = false;
  private loop?: Promise<void>;
  private inFlight = new Set<Promise<void>>();
  private deadLetterUrl?: Promise<string | undefined>;
  private abort = new AbortController();

  constructor(private readonly options: ConsumerOptions) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.abort = new AbortController();
    this.loop = this.poll();
  }

  /** Stops receiving; resolves once the commands in flight are finished. */
  async stop(): Promise<void> {
    this.running = false;
    this.abort.abort();
    await this.loop;
    await Promise.allSettled([...this.inFlight]);
  }

  private async poll(): Promise<void> {
    const { sqs, queueUrl } = this.options;
    while (this.running) {
      let messages: Message[] = [];
      try {
        const out = await sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: queueUrl,
            MaxNumberOfMessages: 10,
            WaitTimeSeconds: this.options.waitSeconds ?? 20,
            MessageSystemAttributeNames: ['ApproximateReceiveCount', 'MessageGroupId'],
          }),
          { abortSignal: this.abort.signal },
        );
        messages = out.Messages ?? [];
      } catch (error) {
        if (!this.running) return;
        this.options.logger.warn('receiving commands failed', { error: (error as Error).message });
        await new Promise((r) => setTimeout(r, 1000));
        continue;
      }
      // SQS may hand out several commands of one session at once: they run one after the other, in
      // order, and a command given back stops the rest of its group. Sessions run in parallel; a
      // command in flight keeps its group locked, so the next receive cannot overtake it.
      for (const group of groupsOf(messages)) {
        const work = this.processInOrder(group)
          .catch((error) =>
            this.options.logger.error('command processing failed', { error: (error as Error).message }),
          )
          .finally(() => this.inFlight.delete(work));
        this.inFlight.add(work);
      }
      while (this.inFlight.size >= MAX_IN_FLIGHT) await Promise.race(this.inFlight);
    }
  }

  private async processInOrder(group: Message[]): Promise<void> {
    for (const [i, message] of group.entries()) {
      if (await this.process(message)) continue;
      // Given back: the later commands of the session go back too, to come again after it.
      for (const later of group.slice(i + 1)) {
        await this.options.sqs
          .send(
            new ChangeMessageVisibilityCommand({
              QueueUrl: this.options.queueUrl,
              ReceiptHandle: later.ReceiptHandle,
              VisibilityTimeout: 0,
            }),
          )
          .catch(() => undefined);
      }
      return;
    }
  }

  /** Handles one command; false when it was given back (retry later or failed). */
  private async process(message: Message): Promise<boolean> {
    const { sqs, queueUrl, logger } = this.options;
    const parsed = Command.safeParse(safeJson(message.Body));
    if (!parsed.success) {
      const reason = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
      logger.error('malformed command sent to the dead-letter queue', {
        messageId: message.MessageId,
        reason,
      });
      try {
        await this.deadLetter(message, reason);
      } catch (error) {
        // Left to SQS's own redrive after 5 receives.
        this.deadLetterUrl = undefined;
        logger.warn('moving a malformed command failed', { error: (error as Error).message });
      }
      return true;
    }
    const extend = async (seconds: number) => {
      await sqs.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: queueUrl,
          ReceiptHandle: message.ReceiptHandle,
          VisibilityTimeout: seconds,
        }),
      );
    };
    // A long command (a send waiting for its session to reconnect) keeps its message invisible.
    const keepAlive = setInterval(
      () => void extend(VISIBILITY_EXTENSION_SECONDS).catch(() => undefined),
      EXTEND_EVERY_MS,
    );
    try {
      const result = await this.options.handle(parsed.data);
      if (result.kind === 'done') {
        await sqs.send(
          new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }),
        );
        return true;
      }
      await extend(result.afterSeconds);
      return false;
    } catch (error) {
      // Left in flight: SQS redelivers after the visibility timeout, and after 5 receives moves it to the DLQ.
      logger.warn('command failed, will be retried', {
        type: parsed.data.type,
        sessionId: parsed.data.sessionId,
        error: (error as Error).message,
      });
      return false;
    } finally {
      clearInterval(keepAlive);
    }
  }

  private async deadLetter(message: Message, reason: string): Promise<void> {
    const { sqs, queueUrl } = this.options;
    this.deadLetterUrl ??= this.findDeadLetterUrl();
    const dlq = await this.deadLetterUrl;
    if (!dlq) return; // no DLQ configured: leave it to SQS's own redrive
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: dlq,
        MessageBody: message.Body ?? '',
        MessageGroupId: 'malformed',
        MessageDeduplicationId: message.MessageId,
        MessageAttributes: { reason: { DataType: 'String', StringValue: reason.slice(0, 1000) } },
      }),
    );
    await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }));
  }

  private async findDeadLetterUrl(): Promise<string | undefined> {
    const out = await this.options.sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: this.options.queueUrl, AttributeNames: ['RedrivePolicy'] }),
    );
    const arn = JSON.parse(out.Attributes?.RedrivePolicy ?? '{}').deadLetterTargetArn as string | undefined;
    const name = arn?.split(':').pop();
    return name ? this.options.queueUrl.replace(/[^/]+$/, name) : undefined;
  }
}

/** The messages of a receive, grouped by session (MessageGroupId), each group in receive order. */
const groupsOf = (messages: Message[]): Message[][] => {
  const groups = new Map<string, Message[]>();
  for (const m of messages) {
    const id = m.Attributes?.MessageGroupId ?? m.MessageId ?? '';
    groups.set(id, [...(groups.get(id) ?? []), m]);
  }
  return [...groups.values()];
};

const safeJson = (body: string | undefined): unknown => {
  try {
    return JSON.parse(body ?? '');
  } catch {
    return undefined;
  }
};
