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
const streamDouble = (batches: Record<string, StreamRecord[][]>, open: Set<string>) => {
  const read = new Map<string, number>();
  return {
    config: { region: async () => 'eu-west-1' },
    send: async (command: unknown) => {
      if (command instanceof DescribeStreamCommand)
        return {
          StreamDescription: {
            Shards: [{ ShardId: 'child', ParentShardId: 'parent' }, { ShardId: 'parent' }],
          },
        };
      if (command instanceof GetShardIteratorCommand) return { ShardIterator: command.input.ShardId };
      if (command instanceof GetRecordsCommand) {
        const shard = command.input.ShardIterator as string;
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
    const deadline = Date.now() + 10_000;
    while (seen.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(seen).toEqual(['SENT', 'DELIVERED', 'READ']);
  });
});
