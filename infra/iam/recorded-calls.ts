import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RecordedCall } from '#shared/adapters/aws-call-recorder.ts';
import { synthGateway } from '../test-support.ts';
import { checkCalls, gatewayModel, type Refusal } from './conformance.ts';

/** Every call recorded under `dir` (one JSON-lines file per test process). */
export const readRecordedCalls = (dir: string): RecordedCall[] => {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((file) => file.endsWith('.jsonl'))
    .flatMap((file) =>
      readFileSync(join(dir, file), 'utf8')
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => JSON.parse(line) as RecordedCall),
    );
};

/** As many shards as the tests used (a local `commands-<n>` queue must exist in the template). */
const shardCountOf = (calls: RecordedCall[]): number => {
  let max = 0;
  for (const call of calls) {
    for (const { resource } of call.requests) {
      const name =
        'queueUrl' in resource ? resource.queueUrl : 'queueName' in resource ? resource.queueName : '';
      const shard = /commands-(\d+)(-dlq)?(\.fifo)?$/.exec(name)?.[1];
      if (shard !== undefined) max = Math.max(max, Number(shard));
    }
  }
  return max + 1;
};

/** Synthesizes the app (no bundling, no cdk-nag) and checks the calls against its roles. */
export const checkRecordedCalls = (calls: RecordedCall[]): Refusal[] => {
  if (calls.length === 0) return [];
  const gateway = synthGateway({ stage: 'dev', shardCount: shardCountOf(calls) }, { nag: false });
  const model = gatewayModel(gateway, {
    stateful: gateway.statefulTemplate.toJSON() as never,
    stateless: gateway.statelessTemplate.toJSON() as never,
  });
  return checkCalls(model, calls);
};
