import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { runAsComponent } from '#shared/adapters/aws-call-context.ts';
import { lambdaContext } from './lambda-context.ts';

// A stand-in for the Lambda SQS event source mapping: long-polls a queue, hands the handler
// batches shaped exactly like Lambda's SQSEvent, deletes what succeeded, and leaves the reported
// failures (or the whole batch, when the handler throws) for SQS to redeliver and, after the
// queue's maxReceiveCount, to move to its dead-letter queue.

export type SqsHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse | undefined>;

export interface SqsEventSourceOptions {
  sqs: SQSClient;
  queueUrl: string;
  handler: SqsHandler;
  /** Records per invocation, at most 10 (Lambda's FIFO maximum). */
  batchSize?: number;
  /** Long-poll wait per receive, seconds (0-20). */
  waitSeconds?: number;
  /** Overrides the queue's visibility timeout for received messages, seconds. */
  visibilityTimeout?: number;
  /**
   * Visibility given to failed records, seconds: 0 retries them at once (handy locally). Unset,
   * they stay invisible for the rest of the visibility timeout, as with the AWS mapping.
   */
  failedVisibilityTimeout?: number;
  /** The handler's timeout, for `context.getRemainingTimeInMillis()`. */
  functionTimeoutMs?: number;
  functionName?: string;
  /**
   * The deployed component this stands in for (e.g. `ai`): the mapping's receives and deletes and
   * the handler's calls are then recorded as that component's (its role does them in AWS).
   */
  component?: string;
  /** Called when receiving or deleting fails (the loop goes on after a pause). */
  onError?: (error: unknown) => void;
}

export interface SqsEventSource {
  /** Stops polling and waits for the batch in progress to finish. */
  stop(): Promise<void>;
}

const SYSTEM_ATTRIBUTES = [
  'ApproximateReceiveCount',
  'SentTimestamp',
  'SenderId',
  'ApproximateFirstReceiveTimestamp',
  'SequenceNumber',
  'MessageGroupId',
  'MessageDeduplicationId',
  'AWSTraceHeader',
] as const;

const toRecord = (message: Message, arn: string, region: string): SQSRecord => {
  const attributes: Record<string, string> = {};
  for (const name of SYSTEM_ATTRIBUTES) {
    const value = message.Attributes?.[name];
    if (value !== undefined) attributes[name] = value;
  }
  return {
    messageId: message.MessageId ?? '',
    receiptHandle: message.ReceiptHandle ?? '',
    body: message.Body ?? '',
    attributes: attributes as unknown as SQSRecord['attributes'],
    messageAttributes: Object.fromEntries(
      Object.entries(message.MessageAttributes ?? {}).map(([name, a]) => [
        name,
        {
          dataType: a.DataType ?? 'String',
          ...(a.StringValue !== undefined && { stringValue: a.StringValue }),
          ...(a.BinaryValue !== undefined && { binaryValue: Buffer.from(a.BinaryValue).toString('base64') }),
          stringListValues: a.StringListValues ?? [],
          binaryListValues: (a.BinaryListValues ?? []).map((b) => Buffer.from(b).toString('base64')),
        },
      ]),
    ),
    md5OfBody: message.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: arn,
    awsRegion: region,
  };
};

const pause = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });

/** Starts polling; resolves once the queue's ARN is known (so a wrong URL fails here, not later). */
export const startSqsEventSource = async (options: SqsEventSourceOptions): Promise<SqsEventSource> => {
  const { sqs, queueUrl, handler } = options;
  const batchSize = Math.min(Math.max(options.batchSize ?? 10, 1), 10);
  const functionName = options.functionName ?? 'local-sqs-consumer';
  const attributes = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }),
  );
  const arn =
    attributes.Attributes?.QueueArn ?? `arn:aws:sqs:local:000000000000:${queueUrl.split('/').pop()}`;
  const region = arn.split(':')[3] || (await sqs.config.region());
  const stopping = new AbortController();

  const settle = async (records: SQSRecord[], failed: Set<string>) => {
    const done = records.filter((r) => !failed.has(r.messageId));
    if (done.length > 0) {
      await sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: done.map((r, i) => ({ Id: String(i), ReceiptHandle: r.receiptHandle })),
        }),
      );
    }
    const retry = records.filter((r) => failed.has(r.messageId));
    if (retry.length > 0 && options.failedVisibilityTimeout !== undefined) {
      await sqs.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: queueUrl,
          Entries: retry.map((r, i) => ({
            Id: String(i),
            ReceiptHandle: r.receiptHandle,
            VisibilityTimeout: options.failedVisibilityTimeout,
          })),
        }),
      );
    }
  };

  const invoke = async (messages: Message[]) => {
    const records = messages.map((m) => toRecord(m, arn, region));
    let failed: Set<string>;
    try {
      const response = await handler(
        { Records: records },
        lambdaContext(functionName, options.functionTimeoutMs ?? 60_000),
      );
      // Like the mapping: an unknown or empty identifier fails the whole batch.
      const items = response?.batchItemFailures ?? [];
      const ids = new Set(records.map((r) => r.messageId));
      failed = items.every((f) => f.itemIdentifier && ids.has(f.itemIdentifier))
        ? new Set(items.map((f) => f.itemIdentifier))
        : ids;
    } catch (error) {
      options.onError?.(error);
      failed = new Set(records.map((r) => r.messageId));
    }
    await settle(records, failed);
  };

  const poll = async () => {
    while (!stopping.signal.aborted) {
      try {
        const out = await sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: queueUrl,
            MaxNumberOfMessages: batchSize,
            WaitTimeSeconds: options.waitSeconds ?? 20,
            ...(options.visibilityTimeout !== undefined && { VisibilityTimeout: options.visibilityTimeout }),
            MessageSystemAttributeNames: ['All'],
            MessageAttributeNames: ['All'],
          }),
          { abortSignal: stopping.signal },
        );
        if (out.Messages?.length) await invoke(out.Messages);
      } catch (error) {
        if (stopping.signal.aborted) break;
        options.onError?.(error);
        await pause(1000, stopping.signal);
      }
    }
  };
  const loop = options.component ? runAsComponent(options.component, poll) : poll();

  return {
    stop: async () => {
      stopping.abort();
      await loop;
    },
  };
};
