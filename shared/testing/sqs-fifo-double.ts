import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * An SQS FIFO queue service on loopback that behaves like SQS where the stand-in (fauxqs) does
 * not: a receive hands out several messages of one group at once (up to MaxNumberOfMessages), a
 * group stays locked while any of its messages is in flight, visibility runs out mid-work and the
 * message comes again with a new receipt handle, and each action can be made to fail for a while
 * (an outage). It speaks the SQS JSON protocol, so the AWS SDK's `SQSClient` (endpoint pointed at
 * it) and the real consumer code run unmodified. Single-process test double: no persistence.
 */
export interface SqsFifoDouble {
  endpoint: string;
  /** Makes the given actions (e.g. `ReceiveMessage`) answer 500 until the returned function is called. */
  outage(actions: SqsAction[]): () => void;
  /**
   * Makes `SendMessageBatch` refuse the entries whose body matches (in `Failed`, as SQS does with
   * some entries of a batch while taking the others) until the returned function is called.
   */
  refuseBatchEntries(match: (body: string) => boolean): () => void;
  /** What happened so far, for assertions (receives counts every message handed out). */
  stats(): { received: number; redelivered: number; deleted: number; refused: number };
  /** The bodies waiting or in flight in a queue, in queue order. */
  bodies(queueName: string): string[];
  stop(): Promise<void>;
}

export type SqsAction =
  | 'CreateQueue'
  | 'GetQueueUrl'
  | 'GetQueueAttributes'
  | 'SendMessage'
  | 'SendMessageBatch'
  | 'ReceiveMessage'
  | 'DeleteMessage'
  | 'DeleteMessageBatch'
  | 'ChangeMessageVisibility'
  | 'PurgeQueue';

interface StoredMessage {
  id: string;
  body: string;
  groupId: string;
  attributes?: Record<string, unknown>;
  receiveCount: number;
  /** Epoch ms from which it may be received again; 0 when never received. */
  visibleAt: number;
  /** The newest receipt handle; only it changes visibility. */
  receipt?: string;
  sentAt: number;
  firstReceivedAt?: number;
}

interface Queue {
  name: string;
  url: string;
  arn: string;
  attributes: Record<string, string>;
  messages: StoredMessage[];
  /** Deduplication id → (message id, when): a repeat within 5 minutes is accepted, not enqueued. */
  dedup: Map<string, { id: string; at: number }>;
}

const ACCOUNT = '000000000000';
const DEDUP_WINDOW_MS = 5 * 60_000;
const MAX_VISIBILITY_SECONDS = 43_200;

class SqsError extends Error {
  constructor(
    readonly type: string,
    readonly queryCode: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

const md5 = (text: string) => createHash('md5').update(text, 'utf8').digest('hex');

/** A batch request's entries, refused as SQS does unless it holds 1 to 10. */
const batchEntries = (input: Record<string, unknown>): Record<string, unknown>[] => {
  const entries = (input.Entries as Record<string, unknown>[] | undefined) ?? [];
  if (entries.length < 1 || entries.length > 10)
    throw new SqsError(
      'TooManyEntriesInBatchRequest',
      'AWS.SimpleQueueService.TooManyEntriesInBatchRequest',
      'A batch holds 1 to 10 entries.',
    );
  return entries;
};

/** The Failed entry of a batch for the error its single action threw (anything else is rethrown). */
const entryFailure = (entry: Record<string, unknown>, error: unknown): Record<string, unknown> => {
  if (!(error instanceof SqsError)) throw error;
  return { Id: entry.Id, SenderFault: true, Code: error.type, Message: error.message };
};

/** Starts the double on a free loopback port. `now` is injectable for tests of the double itself. */
export const startSqsFifoDouble = async (options: { now?: () => number } = {}): Promise<SqsFifoDouble> => {
  const now = options.now ?? Date.now;
  const queues = new Map<string, Queue>();
  const failing = new Map<SqsAction, number>();
  const refusals = new Set<(body: string) => boolean>();
  const stats = { received: 0, redelivered: 0, deleted: 0, refused: 0 };
  let endpoint = '';

  const queueOf = (url: unknown): Queue => {
    const name = typeof url === 'string' ? url.split('/').pop() : undefined;
    const queue = name ? queues.get(name) : undefined;
    if (!queue)
      throw new SqsError(
        'QueueDoesNotExist',
        'AWS.SimpleQueueService.NonExistentQueue',
        'The specified queue does not exist.',
      );
    return queue;
  };
  const invalid = (message: string) =>
    new SqsError('InvalidParameterValue', 'InvalidParameterValue', message);
  const inFlight = (m: StoredMessage, at: number) => m.receipt !== undefined && m.visibleAt > at;

  const actions: Record<string, (input: Record<string, unknown>) => unknown | Promise<unknown>> = {
    CreateQueue: (input) => {
      const name = String(input.QueueName ?? '');
      if (!name.endsWith('.fifo')) throw invalid('This double serves FIFO queues only.');
      const existing = queues.get(name);
      if (existing) return { QueueUrl: existing.url };
      const attributes = { VisibilityTimeout: '30', ...(input.Attributes as Record<string, string>) };
      queues.set(name, {
        name,
        url: `${endpoint}/${ACCOUNT}/${name}`,
        arn: `arn:aws:sqs:us-east-1:${ACCOUNT}:${name}`,
        attributes,
        messages: [],
        dedup: new Map(),
      });
      return { QueueUrl: `${endpoint}/${ACCOUNT}/${name}` };
    },
    GetQueueUrl: (input) => {
      const queue = queues.get(String(input.QueueName));
      if (!queue) return queueOf(undefined);
      return { QueueUrl: queue.url };
    },
    GetQueueAttributes: (input) => {
      const queue = queueOf(input.QueueUrl);
      const at = now();
      const all: Record<string, string> = {
        ...queue.attributes,
        QueueArn: queue.arn,
        ApproximateNumberOfMessages: String(queue.messages.filter((m) => !inFlight(m, at)).length),
        ApproximateNumberOfMessagesNotVisible: String(queue.messages.filter((m) => inFlight(m, at)).length),
      };
      const names = (input.AttributeNames as string[] | undefined) ?? ['All'];
      return {
        Attributes: names.includes('All')
          ? all
          : Object.fromEntries(names.filter((n) => n in all).map((n) => [n, all[n]])),
      };
    },
    SendMessage: (input) => {
      const queue = queueOf(input.QueueUrl);
      const body = String(input.MessageBody ?? '');
      const groupId = input.MessageGroupId;
      if (typeof groupId !== 'string' || groupId === '')
        throw new SqsError(
          'MissingParameter',
          'MissingParameter',
          'The request must contain the parameter MessageGroupId.',
        );
      const dedupId =
        (input.MessageDeduplicationId as string | undefined) ??
        (queue.attributes.ContentBasedDeduplication === 'true'
          ? createHash('sha256').update(body).digest('hex')
          : undefined);
      if (!dedupId)
        throw invalid(
          'The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly',
        );
      const at = now();
      const seen = queue.dedup.get(dedupId);
      if (seen && at - seen.at < DEDUP_WINDOW_MS) return { MessageId: seen.id, MD5OfMessageBody: md5(body) };
      const id = randomUUID();
      queue.dedup.set(dedupId, { id, at });
      queue.messages.push({
        id,
        body,
        groupId,
        ...(input.MessageAttributes !== undefined && {
          attributes: input.MessageAttributes as Record<string, unknown>,
        }),
        receiveCount: 0,
        visibleAt: 0,
        sentAt: at,
      });
      return { MessageId: id, MD5OfMessageBody: md5(body), SequenceNumber: String(queue.messages.length) };
    },
    SendMessageBatch: (input) => {
      queueOf(input.QueueUrl);
      const entries = batchEntries(input);
      const Successful: Record<string, unknown>[] = [];
      const Failed: Record<string, unknown>[] = [];
      // Entry by entry, in order: a refused entry does not stop the later ones (as in SQS).
      for (const entry of entries) {
        const body = String(entry.MessageBody ?? '');
        if ([...refusals].some((match) => match(body))) {
          Failed.push({
            Id: entry.Id,
            SenderFault: false,
            Code: 'InternalError',
            Message: 'refused (simulated)',
          });
          continue;
        }
        try {
          const out = actions.SendMessage?.({ ...entry, QueueUrl: input.QueueUrl }) as Record<
            string,
            unknown
          >;
          Successful.push({ Id: entry.Id, ...out });
        } catch (error) {
          Failed.push(entryFailure(entry, error));
        }
      }
      return { Successful, Failed };
    },
    ReceiveMessage: async (input) => {
      const queue = queueOf(input.QueueUrl);
      const max = Number(input.MaxNumberOfMessages ?? 1);
      if (max < 1 || max > 10) throw invalid('MaxNumberOfMessages must be between 1 and 10.');
      const wait = Number(input.WaitTimeSeconds ?? queue.attributes.ReceiveMessageWaitTimeSeconds ?? 0);
      const visibility = Number(input.VisibilityTimeout ?? queue.attributes.VisibilityTimeout);
      const deadline = now() + wait * 1000;
      for (;;) {
        const taken = take(queue, max, visibility);
        if (taken.length > 0 || now() >= deadline) return { Messages: taken.map((m) => view(m, input)) };
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    DeleteMessage: (input) => {
      const queue = queueOf(input.QueueUrl);
      const handle = String(input.ReceiptHandle ?? '');
      const index = queue.messages.findIndex((m) => m.receipt === handle);
      // An older receipt handle of a message received again: accepted, and nothing is deleted (as SQS).
      if (index < 0) {
        if (!isOurHandle(handle)) throw receiptInvalid();
        stats.refused++;
        return {};
      }
      queue.messages.splice(index, 1);
      stats.deleted++;
      return {};
    },
    // Entry by entry, as SQS: a bad receipt handle fails its entry, not the others.
    DeleteMessageBatch: (input) => {
      queueOf(input.QueueUrl);
      const entries = batchEntries(input);
      const Successful: Record<string, unknown>[] = [];
      const Failed: Record<string, unknown>[] = [];
      for (const entry of entries) {
        try {
          actions.DeleteMessage?.({ QueueUrl: input.QueueUrl, ReceiptHandle: entry.ReceiptHandle });
          Successful.push({ Id: entry.Id });
        } catch (error) {
          Failed.push(entryFailure(entry, error));
        }
      }
      return { Successful, Failed };
    },
    ChangeMessageVisibility: (input) => {
      const queue = queueOf(input.QueueUrl);
      const handle = String(input.ReceiptHandle ?? '');
      const seconds = Number(input.VisibilityTimeout);
      if (!(seconds >= 0 && seconds <= MAX_VISIBILITY_SECONDS))
        throw invalid('VisibilityTimeout out of range.');
      const message = queue.messages.find((m) => m.receipt === handle);
      const at = now();
      if (!message) {
        if (!isOurHandle(handle)) throw receiptInvalid();
        stats.refused++;
        throw invalid(
          `Value ${handle} for parameter ReceiptHandle is invalid. Reason: The receipt handle has expired.`,
        );
      }
      if (!inFlight(message, at)) {
        stats.refused++;
        throw new SqsError(
          'MessageNotInflight',
          'AWS.SimpleQueueService.MessageNotInflight',
          'The message referred to is not in flight.',
        );
      }
      message.visibleAt = at + seconds * 1000;
      return {};
    },
    PurgeQueue: (input) => {
      queueOf(input.QueueUrl).messages.length = 0;
      return {};
    },
  };

  /**
   * FIFO delivery: groups in the order of their oldest message; a group with a message in flight
   * is skipped; from a free group, its messages in order, as many as fit (several per group, as SQS
   * does). A message past the redrive policy's receive count goes to the dead-letter queue instead.
   */
  const take = (queue: Queue, max: number, visibilitySeconds: number): StoredMessage[] => {
    const at = now();
    const locked = new Set(queue.messages.filter((m) => inFlight(m, at)).map((m) => m.groupId));
    const redrive = JSON.parse(queue.attributes.RedrivePolicy ?? 'null') as {
      deadLetterTargetArn: string;
      maxReceiveCount: number;
    } | null;
    const taken: StoredMessage[] = [];
    for (const message of [...queue.messages]) {
      if (taken.length >= max) break;
      if (locked.has(message.groupId)) continue;
      if (redrive && message.receiveCount >= redrive.maxReceiveCount) {
        const dlq = [...queues.values()].find((q) => q.arn === redrive.deadLetterTargetArn);
        queue.messages.splice(queue.messages.indexOf(message), 1);
        dlq?.messages.push({ ...message, receiveCount: 0, visibleAt: 0, receipt: undefined });
        continue;
      }
      if (message.receiveCount > 0) stats.redelivered++;
      stats.received++;
      message.receiveCount++;
      message.firstReceivedAt ??= at;
      message.visibleAt = at + visibilitySeconds * 1000;
      message.receipt = `${HANDLE_PREFIX}${randomUUID()}`;
      taken.push(message);
    }
    return taken;
  };

  const view = (m: StoredMessage, input: Record<string, unknown>) => {
    const wanted = [
      ...((input.MessageSystemAttributeNames as string[] | undefined) ?? []),
      ...((input.AttributeNames as string[] | undefined) ?? []),
    ];
    const system: Record<string, string> = {
      ApproximateReceiveCount: String(m.receiveCount),
      MessageGroupId: m.groupId,
      SentTimestamp: String(m.sentAt),
      ApproximateFirstReceiveTimestamp: String(m.firstReceivedAt),
    };
    const attributes = wanted.includes('All')
      ? system
      : Object.fromEntries(wanted.filter((n) => n in system).map((n) => [n, system[n]]));
    const names = (input.MessageAttributeNames as string[] | undefined) ?? [];
    const messageAttributes =
      m.attributes && names.length > 0
        ? Object.fromEntries(
            Object.entries(m.attributes).filter(([k]) => names.includes('All') || names.includes(k)),
          )
        : undefined;
    return {
      MessageId: m.id,
      ReceiptHandle: m.receipt,
      MD5OfBody: md5(m.body),
      Body: m.body,
      ...(Object.keys(attributes).length > 0 && { Attributes: attributes }),
      ...(messageAttributes && { MessageAttributes: messageAttributes }),
    };
  };

  const server: Server = createServer((request, response) => void handle(request, response));
  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const target = String(request.headers['x-amz-target'] ?? '');
    const action = target.replace(/^AmazonSQS\./, '');
    try {
      if (failing.has(action as SqsAction))
        throw new SqsError('InternalError', 'InternalError', `${action} is failing (simulated outage)`, 500);
      const run = actions[action];
      if (!target.startsWith('AmazonSQS.') || !run)
        throw new SqsError('UnsupportedOperation', 'AWS.SimpleQueueService.UnsupportedOperation', action);
      const input = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
      const output = await run(input);
      if (response.destroyed) return;
      response.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' });
      response.end(JSON.stringify(output));
    } catch (error) {
      const e =
        error instanceof SqsError
          ? error
          : new SqsError('InternalError', 'InternalError', (error as Error).message, 500);
      if (response.destroyed) return;
      response.writeHead(e.status, {
        'content-type': 'application/x-amz-json-1.0',
        'x-amzn-query-error': `${e.queryCode};${e.status >= 500 ? 'Receiver' : 'Sender'}`,
      });
      response.end(JSON.stringify({ __type: `com.amazonaws.sqs#${e.type}`, message: e.message }));
    }
  };
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    endpoint,
    outage: (list) => {
      for (const action of list) failing.set(action, (failing.get(action) ?? 0) + 1);
      let ended = false;
      return () => {
        if (ended) return;
        ended = true;
        for (const action of list) {
          const left = (failing.get(action) ?? 1) - 1;
          if (left > 0) failing.set(action, left);
          else failing.delete(action);
        }
      };
    },
    refuseBatchEntries: (match) => {
      refusals.add(match);
      return () => {
        refusals.delete(match);
      };
    },
    stats: () => ({ ...stats }),
    bodies: (name) => queues.get(name)?.messages.map((m) => m.body) ?? [],
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
};

const HANDLE_PREFIX = 'double-';
const isOurHandle = (handle: string) => handle.startsWith(HANDLE_PREFIX);
const receiptInvalid = () =>
  new SqsError('ReceiptHandleIsInvalid', 'ReceiptHandleIsInvalid', 'The input receipt handle is invalid.');
