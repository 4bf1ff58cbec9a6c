import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  type DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type _Record as StreamRecord,
} from '@aws-sdk/client-dynamodb-streams';
import { afterEach, describe, expect, it } from 'vitest';
import { type StreamPoller, startStreamPoller } from './stream-poller.ts';

// Shard splits, which DynamoDB Local never makes: a stream client double that lists a child shard
// before its parent, as DescribeStream is free to. One item's changes live in the parent, then in
// the child; the webhook order per item depends on the poller reading the parent to its end first.

const record = (sequence: string, status: string): StreamRecord => ({
  eventID: `e${sequence}`,
  eventName: 'MODIFY',
  dynamodb: {
    SequenceNumber: sequence,
    Keys: { pk: { S: 'MSG#1' } },
    NewImage: { pk: { S: 'MSG#1' }, status: { S: status } },
  },
});

/** Per shard: the batches GetRecords hands out in turn; past the last, the shard is closed or idle. */
const streamDouble = (
  batches: Record<string, StreamRecord[][]>,
  open: Set<string>,
  shards: { ShardId: string; ParentShardId?: string }[] = [
    { ShardId: 'child', ParentShardId: 'parent' },
    { ShardId: 'parent' },
  ],
  /** Shards whose first read fails as DynamoDB Local's does for an iterator of an empty shard. */
  trimmedOnce = new Set<string>(),
) => {
  const read = new Map<string, number>();
  return {
    config: { region: async () => 'eu-west-1' },
    send: async (command: unknown) => {
      if (command instanceof DescribeStreamCommand) return { StreamDescription: { Shards: shards } };
      if (command instanceof GetShardIteratorCommand) return { ShardIterator: command.input.ShardId };
      if (command instanceof GetRecordsCommand) {
        const shard = command.input.ShardIterator as string;
        if (trimmedOnce.delete(shard))
          throw Object.assign(new Error('The operation attempted to read past the oldest stream record'), {
            name: 'TrimmedDataAccessException',
          });
        const index = read.get(shard) ?? 0;
        read.set(shard, index + 1);
        const Records = batches[shard]?.[index] ?? [];
        const more = index + 1 < (batches[shard]?.length ?? 0) || open.has(shard);
        return { Records, ...(more && { NextShardIterator: shard }) };
      }
      throw new Error('unexpected command');
    },
  } as unknown as DynamoDBStreamsClient;
};
const dynamo = {
  send: async () => ({ Table: { LatestStreamArn: 'arn:aws:dynamodb:eu-west-1:1:table/t/stream/s' } }),
} as unknown as DynamoDBClient;

let poller: StreamPoller | undefined;
afterEach(() => poller?.stop());
const until = async (done: () => boolean) => {
  const deadline = Date.now() + 10_000;
  while (!done() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
};

describe('stream poller across a shard split', () => {
  it("reads a parent shard to its end before its child, so one item's changes stay in order", async () => {
    const seen: string[] = [];
    const streams = streamDouble(
      {
        parent: [[record('1', 'SENT')], [record('2', 'DELIVERED')]],
        child: [[record('3', 'READ')]],
      },
      new Set(['child']),
    );
    poller = await startStreamPoller({
      dynamo,
      streams,
      tableName: 't',
      idleMs: 10,
      handler: async (event) => {
        for (const r of event.Records) seen.push(r.dynamodb?.NewImage?.status?.S as string);
        return { batchItemFailures: [] };
      },
    });
    await until(() => seen.length >= 3);
    expect(seen).toEqual(['SENT', 'DELIVERED', 'READ']);
  });

  it('starts a shard again from its oldest record when its first read is refused as trimmed, reporting no error', async () => {
    const seen: string[] = [];
    const errors: unknown[] = [];
    const streams = streamDouble(
      { only: [[], [record('1', 'SENT')]] },
      new Set(['only']),
      [{ ShardId: 'only' }],
      new Set(['only']),
    );
    poller = await startStreamPoller({
      dynamo,
      streams,
      tableName: 't',
      idleMs: 10,
      onError: (error) => errors.push(error),
      handler: async (event) => {
        for (const r of event.Records) seen.push(r.dynamodb?.NewImage?.status?.S as string);
        return { batchItemFailures: [] };
      },
    });
    await until(() => seen.length >= 1);
    expect(seen).toEqual(['SENT']);
    expect(errors).toEqual([]);
  });

  it('waits on an idle stream without piling listeners on its stop signal', async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.name);
    process.on('warning', onWarning);
    let reads = 0;
    const streams = streamDouble({}, new Set(['only']), [{ ShardId: 'only' }]);
    const send = streams.send.bind(streams);
    streams.send = (async (command: unknown) => {
      if (command instanceof GetRecordsCommand) reads += 1;
      return send(command as never);
    }) as typeof streams.send;
    poller = await startStreamPoller({
      dynamo,
      streams,
      tableName: 't',
      idleMs: 1,
      handler: async () => undefined,
    });
    await until(() => reads > 30); // more idle turns than the default limit of 10 listeners
    await poller.stop();
    await new Promise((r) => setImmediate(r)); // warnings are emitted on the next tick
    process.off('warning', onWarning);
    expect(reads).toBeGreaterThan(30);
    expect(warnings).not.toContain('MaxListenersExceededWarning');
  });
});
