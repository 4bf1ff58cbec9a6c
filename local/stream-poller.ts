import { DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  type DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type AttributeValue as SdkAttributeValue,
  type _Record as StreamRecord,
} from '@aws-sdk/client-dynamodb-streams';
import type { AttributeValue, DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';

// A stand-in for the Lambda DynamoDB Streams event source mapping: reads every shard of a table's
// stream from its start (TRIM_HORIZON), hands the handler Lambda-shaped batches in order, and on a
// reported failure reads again from the failed record (AT_SEQUENCE_NUMBER), as the mapping does
// with ReportBatchItemFailures. Works on DynamoDB Local, whose tables the local stack creates
// with NEW_AND_OLD_IMAGES streams.

export type StreamHandler = (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse | undefined>;

export interface StreamPollerOptions {
  dynamo: DynamoDBClient;
  streams: DynamoDBStreamsClient;
  tableName: string;
  handler: StreamHandler;
  /** Records per invocation (the mapping's BatchSize). */
  batchSize?: number;
  /** Pause when a shard has nothing new, ms. */
  idleMs?: number;
  /** Called when reading or the handler fails (the loop goes on after a pause). */
  onError?: (error: unknown) => void;
}

export interface StreamPoller {
  /** Stops polling and waits for the batch in progress to finish. */
  stop(): Promise<void>;
}

/** An SDK attribute value as the JSON Lambda receives (binaries as base64). */
const lambdaValue = (value: SdkAttributeValue): AttributeValue => {
  if (value.B !== undefined) return { B: Buffer.from(value.B).toString('base64') };
  if (value.BS !== undefined) return { BS: value.BS.map((b) => Buffer.from(b).toString('base64')) };
  if (value.M !== undefined) return { M: lambdaImage(value.M) };
  if (value.L !== undefined) return { L: value.L.map(lambdaValue) };
  return value as AttributeValue;
};
const lambdaImage = (image: Record<string, SdkAttributeValue>): Record<string, AttributeValue> =>
  Object.fromEntries(Object.entries(image).map(([k, v]) => [k, lambdaValue(v)]));

const toLambdaRecord = (record: StreamRecord, streamArn: string, region: string): DynamoDBRecord => {
  const d = record.dynamodb ?? {};
  return {
    eventID: record.eventID,
    eventName: record.eventName as DynamoDBRecord['eventName'],
    eventVersion: record.eventVersion,
    eventSource: 'aws:dynamodb',
    awsRegion: region,
    eventSourceARN: streamArn,
    dynamodb: {
      ...(d.ApproximateCreationDateTime && {
        ApproximateCreationDateTime: Math.floor(d.ApproximateCreationDateTime.getTime() / 1000),
      }),
      ...(d.Keys && { Keys: lambdaImage(d.Keys) }),
      ...(d.NewImage && { NewImage: lambdaImage(d.NewImage) }),
      ...(d.OldImage && { OldImage: lambdaImage(d.OldImage) }),
      ...(d.SequenceNumber && { SequenceNumber: d.SequenceNumber }),
      ...(d.SizeBytes !== undefined && { SizeBytes: d.SizeBytes }),
      ...(d.StreamViewType && { StreamViewType: d.StreamViewType }),
    },
  };
};

const pause = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    // The listener goes with the pause: one per idle turn would pile up on the stop signal.
    const wake = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', wake);
      resolve();
    }, ms);
    signal.addEventListener('abort', wake, { once: true });
  });

/** Starts reading the table's stream; resolves once the stream is found (a table without one fails here). */
export const startStreamPoller = async (options: StreamPollerOptions): Promise<StreamPoller> => {
  const { dynamo, streams, tableName, handler } = options;
  const idleMs = options.idleMs ?? 250;
  const batchSize = options.batchSize ?? 100;
  const described = await dynamo.send(new DescribeTableCommand({ TableName: tableName }));
  const streamArn = described.Table?.LatestStreamArn;
  if (!streamArn) throw new Error(`Table ${tableName} has no stream`);
  const region = await streams.config.region();
  const stopping = new AbortController();
  /** Shards read to their end: never read again. */
  const finished = new Set<string>();
  /** Where each open shard's reading goes on. */
  const iterators = new Map<string, string>();
  /** The last record handed over per shard: a lost iterator resumes after it, not from the start. */
  const positions = new Map<string, string>();

  const iteratorAt = async (shardId: string, after?: { sequence: string; inclusive: boolean }) =>
    (
      await streams.send(
        new GetShardIteratorCommand({
          StreamArn: streamArn,
          ShardId: shardId,
          ...(after
            ? {
                ShardIteratorType: after.inclusive ? 'AT_SEQUENCE_NUMBER' : 'AFTER_SEQUENCE_NUMBER',
                SequenceNumber: after.sequence,
              }
            : { ShardIteratorType: 'TRIM_HORIZON' }),
        }),
      )
    ).ShardIterator;

  const discoverShards = async () => {
    const stream = await streams.send(new DescribeStreamCommand({ StreamArn: streamArn }));
    const shards = stream.StreamDescription?.Shards ?? [];
    const listed = new Set(shards.map((s) => s.ShardId));
    for (const shard of shards) {
      const id = shard.ShardId;
      if (!id || finished.has(id) || iterators.has(id)) continue;
      // A child shard is read once its parent (while the stream lists it or it is being read) is
      // read to its end, whatever order the listing has: a key's changes move from parent to child, so this
      // keeps each item's changes in order.
      const parent = shard.ParentShardId;
      if (parent && !finished.has(parent) && (listed.has(parent) || iterators.has(parent))) continue;
      const last = positions.get(id);
      const iterator = await iteratorAt(id, last ? { sequence: last, inclusive: false } : undefined);
      if (iterator) iterators.set(id, iterator);
    }
  };

  const readRecords = (iterator: string) =>
    streams.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: batchSize }));

  /** Set when a shard was read to its end: discover again at once rather than after the period. */
  let shardClosed = false;

  /** Reads one batch of a shard; answers whether it had records. */
  const readShard = async (shardId: string, iterator: string): Promise<boolean> => {
    let out: Awaited<ReturnType<typeof readRecords>>;
    try {
      out = await readRecords(iterator);
    } catch (error) {
      if ((error as Error).name !== 'TrimmedDataAccessException' || positions.has(shardId)) throw error;
      // DynamoDB Local answers this to an iterator taken while the shard was still empty. Nothing
      // was read from the shard yet, so nothing is lost: start again from its oldest record.
      const again = await iteratorAt(shardId);
      if (again) iterators.set(shardId, again);
      return false;
    }
    const records = out.Records ?? [];
    if (records.length > 0) {
      const event = { Records: records.map((r) => toLambdaRecord(r, streamArn, region)) };
      let failedAt: string | undefined;
      try {
        const response = await handler(event);
        failedAt = response?.batchItemFailures?.[0]?.itemIdentifier;
      } catch (error) {
        options.onError?.(error);
        failedAt = event.Records[0]?.dynamodb?.SequenceNumber;
      }
      if (failedAt) {
        // Read again from the failed record, after a pause (the mapping retries the same way).
        const again = await iteratorAt(shardId, { sequence: failedAt, inclusive: true });
        if (again) iterators.set(shardId, again);
        await pause(1000, stopping.signal);
        return true;
      }
      const last = records.at(-1)?.dynamodb?.SequenceNumber;
      if (last) positions.set(shardId, last);
    }
    if (out.NextShardIterator) iterators.set(shardId, out.NextShardIterator);
    else {
      iterators.delete(shardId);
      finished.add(shardId);
      shardClosed = true; // its children can be read now
    }
    return records.length > 0;
  };

  const loop = (async () => {
    let lastDiscovery = 0;
    while (!stopping.signal.aborted) {
      try {
        if (iterators.size === 0 || shardClosed || Date.now() - lastDiscovery > 5_000) {
          shardClosed = false;
          await discoverShards();
          lastDiscovery = Date.now();
        }
        let busy = false;
        for (const [shardId, iterator] of [...iterators]) {
          if (stopping.signal.aborted) break;
          busy = (await readShard(shardId, iterator)) || busy;
        }
        if (!busy) await pause(idleMs, stopping.signal);
      } catch (error) {
        if (stopping.signal.aborted) break;
        options.onError?.(error);
        // An expired iterator is replaced on the next discovery.
        iterators.clear();
        await pause(1000, stopping.signal);
      }
    }
  })();

  return {
    stop: async () => {
      stopping.abort();
      await loop;
    },
  };
};
