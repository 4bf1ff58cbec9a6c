import {
  ChangeMessageVisibilityCommand,
  DeleteMessageBatchCommand,
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
/** How long stop() waits past a receive's own wait before it aborts the receive. */
const STOP_GRACE_MS = 2_000;
/** How long a handled command waits for others to be deleted with it in one request (default). */
const DELETE_BATCH_MS = 200;
/** The most entries SQS takes in one DeleteMessageBatch. */
const DELETE_BATCH_MAX = 10;

export interface ConsumerOptions {
  sqs: SQSClient;
  queueUrl: string;
  handle: CommandHandler;
  logger: Logger;
  waitSeconds?: number;
  /** How long a received command stays invisible, renewed while it waits or runs (default 30 s). */
  visibilitySeconds?: number;
  /** How often held commands are renewed (default a third of the visibility). */
  extendEveryMs?: number;
  /**
   * How long a handled command's delete waits for others to go in the same DeleteMessageBatch
   * (default 200 ms; sooner once 10 wait, and at once on stop). It stays held (invisible, renewed)
   * meanwhile, so nothing runs twice; only a later command of its session that SQS has not handed
   * out yet waits that much longer.
   */
  deleteBatchMs?: number;
}

/** A command this consumer holds: received and neither deleted nor given back. */
interface Held {
  message: Message;
  /** The newest receipt handle: SQS acts only on the latest one after a redelivery. */
  receiptHandle: string;
  /** Handled and to be deleted (waiting for its batch, or its delete failed and is retried). */
  done: boolean;
  /** In a delete request under way: not queued again meanwhile. */
  deleting?: boolean;
}

/**
 * Long-polls one `commands-<shard>.fifo`. SQS may hand out several commands of a session in one
 * receive: they run one after the other, in order, and every one of them stays invisible until it
 * is deleted or given back (not only the one running), so none reappears to run a second time
 * while it waits its turn. A command that comes again while still held (its visibility ran out
 * during an outage) is not run twice: its newer receipt handle replaces the old one. Sessions run
 * in parallel. A malformed command goes straight to the dead-letter queue with its reason.
 */
export class CommandConsumer {
  private running = false;
  private loop?: Promise<void>;
  /** The tail of each session's chain of commands (MessageGroupId → running work). */
  private readonly groups = new Map<string, Promise<void>>();
  private readonly held = new Map<string, Held>();
  private keepAlive?: NodeJS.Timeout;
  private deadLetterUrl?: Promise<string | undefined>;
  private abort = new AbortController();
  /** Handled commands waiting for the next delete batch (message id → held). */
  private readonly deletes = new Map<string, Held>();
  private deleteTimer?: NodeJS.Timeout;
  /** Delete requests under way (idle() waits for them). */
  private readonly deleting = new Set<Promise<void>>();

  constructor(private readonly options: ConsumerOptions) {}

  private get visibility(): number {
    return this.options.visibilitySeconds ?? 30;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.abort = new AbortController();
    this.keepAlive = setInterval(
      () => void this.renewHeld(),
      this.options.extendEveryMs ?? (this.visibility * 1000) / 3,
    );
    this.loop = this.poll();
  }

  /**
   * Stops receiving; resolves once the commands in flight are finished and the receive under way has
   * ended. That receive is not cut short: a long poll the client abandons still takes messages on the
   * server (SQS does, and so does the double), which then stay invisible, their session's whole group
   * locked, for a full visibility timeout before the next owner sees them. It runs to its end (at
   * most its wait) and what it brings is given back at once; it is aborted only past that bound.
   */
  async stop(): Promise<void> {
    this.running = false;
    const bound = setTimeout(() => this.abort.abort(), this.waitSeconds * 1000 + STOP_GRACE_MS);
    await this.loop;
    clearTimeout(bound);
    await this.idle();
    clearInterval(this.keepAlive);
    await this.idle(); // a delete the last renewal queued goes now, not after the stop
  }

  /**
   * Resolves once the commands being worked on (or waiting their turn) are finished and the deletes
   * of the handled ones were sent (at once, without waiting for a fuller batch).
   */
  async idle(): Promise<void> {
    while (this.groups.size > 0) await Promise.allSettled([...this.groups.values()]);
    this.flushDeletes();
    while (this.deleting.size > 0) await Promise.allSettled([...this.deleting]);
  }

  private get waitSeconds(): number {
    return this.options.waitSeconds ?? 20;
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
            WaitTimeSeconds: this.waitSeconds,
            // Set on the receive itself: the queue's own (short) timeout would otherwise run out
            // for the later commands of a group before the first renewal.
            VisibilityTimeout: this.visibility,
            MessageSystemAttributeNames: ['ApproximateReceiveCount', 'MessageGroupId'],
          }),
          { abortSignal: this.abort.signal },
        );
        messages = out.Messages ?? [];
        if (!this.running) {
          // Received after stop(): given back at once for the next owner, never run here.
          await Promise.all(messages.filter((m) => this.hold(m)).map((m) => this.release(m, 0)));
          return;
        }
      } catch (error) {
        if (!this.running) return;
        this.options.logger.warn('receiving commands failed', { error: (error as Error).message });
        await new Promise((r) => setTimeout(r, 1000));
        continue;
      }
      for (const [group, fresh] of groupsOf(messages.filter((m) => this.hold(m)))) {
        // Behind whatever of the session is still running: a redelivery never overtakes it.
        const previous = this.groups.get(group) ?? Promise.resolve();
        const work: Promise<void> = previous
          .then(() => this.processInOrder(fresh))
          .catch((error) =>
            this.options.logger.error('command processing failed', { error: (error as Error).message }),
          )
          .finally(() => {
            if (this.groups.get(group) === work) this.groups.delete(group);
          });
        this.groups.set(group, work);
      }
      while (this.groups.size >= MAX_IN_FLIGHT) await Promise.race(this.groups.values());
    }
  }

  /** Takes a received message into the held set; false when it was held already (a redelivery). */
  private hold(message: Message): boolean {
    const id = message.MessageId ?? '';
    const known = this.held.get(id);
    if (!known) {
      this.held.set(id, { message, receiptHandle: message.ReceiptHandle ?? '', done: false });
      return true;
    }
    known.receiptHandle = message.ReceiptHandle ?? known.receiptHandle;
    this.options.logger.warn('command received again while held: not run twice', { messageId: id });
    // Handled already, only its delete had failed: delete it now with the fresh handle.
    if (known.done) this.remove(known);
    return false;
  }

  /** Renews the visibility of every held command, running or waiting its turn. */
  private async renewHeld(): Promise<void> {
    await Promise.all(
      [...this.held.values()].map(async (held) => {
        if (held.done) return this.remove(held);
        await this.setVisibility(held, this.visibility).catch((error) =>
          this.options.logger.warn('extending a command failed', { error: (error as Error).message }),
        );
      }),
    );
  }

  private async processInOrder(group: Message[]): Promise<void> {
    for (const [i, message] of group.entries()) {
      if (await this.process(message)) continue;
      // Given back: the later commands of the session go back too, to come again after it.
      for (const later of group.slice(i + 1)) await this.release(later, 0);
      return;
    }
  }

  /** Handles one command; false when it was given back (retry later or failed). */
  private async process(message: Message): Promise<boolean> {
    const { logger } = this.options;
    const held = this.held.get(message.MessageId ?? '');
    if (!held) return true;
    const parsed = Command.safeParse(safeJson(message.Body));
    if (!parsed.success) {
      const reason = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
      logger.error('malformed command sent to the dead-letter queue', {
        messageId: message.MessageId,
        reason,
      });
      try {
        await this.deadLetter(held, reason);
      } catch (error) {
        // Left to SQS's own redrive after 5 receives.
        this.deadLetterUrl = undefined;
        this.held.delete(message.MessageId ?? '');
        logger.warn('moving a malformed command failed', { error: (error as Error).message });
      }
      return true;
    }
    try {
      const result = await this.options.handle(parsed.data);
      if (result.kind === 'done') {
        // Deleted with the next batch; the session's next command runs meanwhile.
        held.done = true;
        this.remove(held);
        return true;
      }
      await this.release(message, result.afterSeconds);
      return false;
    } catch (error) {
      // No longer renewed: it comes again once its visibility runs out (20-30 s), so that an outage
      // of a dependency (DynamoDB) uses up its 5 receives before the DLQ slowly, not in seconds.
      logger.warn('command failed, will be retried', {
        type: parsed.data.type,
        sessionId: parsed.data.sessionId,
        error: (error as Error).message,
      });
      this.held.delete(message.MessageId ?? '');
      return false;
    }
  }

  /**
   * Queues a handled command's delete for the next batch: sent once 10 wait or `deleteBatchMs` after
   * the first, one request for all. A failed delete leaves it held and the next renewal queues it again.
   */
  private remove(held: Held): void {
    if (held.deleting) return;
    this.deletes.set(held.message.MessageId ?? '', held);
    if (this.deletes.size >= DELETE_BATCH_MAX) this.flushDeletes();
    else
      this.deleteTimer ??= setTimeout(
        () => this.flushDeletes(),
        this.options.deleteBatchMs ?? DELETE_BATCH_MS,
      );
  }

  /** Sends the queued deletes now, in batches of at most 10. */
  private flushDeletes(): void {
    clearTimeout(this.deleteTimer);
    this.deleteTimer = undefined;
    const queued = [...this.deletes.values()];
    this.deletes.clear();
    for (let i = 0; i < queued.length; i += DELETE_BATCH_MAX) {
      const request: Promise<void> = this.deleteBatch(queued.slice(i, i + DELETE_BATCH_MAX)).finally(() =>
        this.deleting.delete(request),
      );
      this.deleting.add(request);
    }
  }

  /**
   * Deletes handled commands in one request (DeleteMessage for a single one). Each is forgotten
   * once deleted under the receipt handle it has now; one redelivered meanwhile (a newer handle)
   * stays held and is queued again at once, to be deleted with the newer handle.
   */
  private async deleteBatch(batch: Held[]): Promise<void> {
    const { sqs, queueUrl, logger } = this.options;
    const handles = batch.map((held) => held.receiptHandle);
    for (const held of batch) held.deleting = true;
    let failed = new Set<string>();
    try {
      if (batch.length === 1) {
        await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: handles[0] }));
      } else {
        const out = await sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: handles.map((handle, i) => ({ Id: String(i), ReceiptHandle: handle })),
          }),
        );
        failed = new Set((out.Failed ?? []).map((f) => f.Id ?? ''));
        if (failed.size > 0)
          logger.warn('deleting commands failed, will retry', {
            failed: failed.size,
            error: out.Failed?.[0]?.Message,
          });
      }
    } catch (error) {
      failed = new Set(handles.map((_, i) => String(i)));
      logger.warn('deleting commands failed, will retry', {
        failed: failed.size,
        error: (error as Error).message,
      });
    }
    for (const [i, held] of batch.entries()) {
      held.deleting = false;
      const id = held.message.MessageId ?? '';
      if (this.held.get(id) !== held) continue;
      if (held.receiptHandle !== handles[i]) {
        // Received again while this request was under way (hold() could not queue it then): deleted
        // now under the newer handle, not at the next renewal, its session's group blocked meanwhile
        // and left undeleted for the next owner by a stop in between.
        if (held.done) this.remove(held);
        continue;
      }
      if (!failed.has(String(i))) this.held.delete(id);
    }
  }

  /** Gives a command back to the queue, visible again after `seconds`; no longer held. */
  private async release(message: Message, seconds: number): Promise<void> {
    const held = this.held.get(message.MessageId ?? '');
    if (!held) return;
    this.held.delete(message.MessageId ?? '');
    await this.setVisibility(held, seconds).catch(() => undefined);
  }

  private async setVisibility(held: Held, seconds: number): Promise<void> {
    await this.options.sqs.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: this.options.queueUrl,
        ReceiptHandle: held.receiptHandle,
        VisibilityTimeout: seconds,
      }),
    );
  }

  private async deadLetter(held: Held, reason: string): Promise<void> {
    const { sqs, queueUrl } = this.options;
    this.deadLetterUrl ??= this.findDeadLetterUrl();
    const dlq = await this.deadLetterUrl;
    if (!dlq) return; // no DLQ configured: leave it to SQS's own redrive
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: dlq,
        MessageBody: held.message.Body ?? '',
        MessageGroupId: 'malformed',
        MessageDeduplicationId: held.message.MessageId,
        MessageAttributes: { reason: { DataType: 'String', StringValue: reason.slice(0, 1000) } },
      }),
    );
    held.done = true;
    await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: held.receiptHandle }));
    this.held.delete(held.message.MessageId ?? '');
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
const groupsOf = (messages: Message[]): Map<string, Message[]> => {
  const groups = new Map<string, Message[]>();
  for (const m of messages) {
    const id = m.Attributes?.MessageGroupId ?? m.MessageId ?? '';
    groups.set(id, [...(groups.get(id) ?? []), m]);
  }
  return groups;
};

const safeJson = (body: string | undefined): unknown => {
  try {
    return JSON.parse(body ?? '');
  } catch {
    return undefined;
  }
};
