import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { changeOf } from '#shared/adapters/dynamodb-stream-changes.ts';
import { eventsFromChange } from '#shared/domain/webhook-events-from-changes.ts';
import { type FanoutDeps, fanOutEvents } from '#shared/use-cases/webhook-fanout.ts';
import { fanoutDeps, logger } from './webhook-composition-root.ts';

/**
 * The fan-out Lambda on the sessions and messages table streams: stored changes → events → one
 * delivery job per matching endpoint. The batch is fanned out as a whole; when that fails (queue or
 * table down), the first record is reported failed, so the stream hands the batch again in order,
 * and the stable event ids and deduplicated jobs make the repeat harmless.
 */
export const createFanoutHandler =
  (deps: () => FanoutDeps) =>
  async (event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> => {
    const drafts = event.Records.flatMap((record) => {
      const change = changeOf(record);
      return change ? eventsFromChange(change) : [];
    });
    if (drafts.length === 0) return { batchItemFailures: [] };
    try {
      const result = await fanOutEvents(deps(), drafts);
      for (const bad of result.invalid) logger.error('event dropped: invalid payload', bad);
      logger.info('events fanned out', {
        records: event.Records.length,
        events: drafts.length,
        jobs: result.jobs,
      });
      return { batchItemFailures: [] };
    } catch (error) {
      const first = event.Records[0]?.dynamodb?.SequenceNumber;
      logger.warn('fan-out failed, the batch will be retried', {
        reason: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
      });
      return { batchItemFailures: first ? [{ itemIdentifier: first }] : [] };
    }
  };

export const handler = createFanoutHandler(fanoutDeps);
