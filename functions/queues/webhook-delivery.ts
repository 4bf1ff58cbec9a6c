import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { WebhookDeliveryJob } from '#shared/contracts/webhook-events.ts';
import {
  DELIVERY_TIMEOUT_MS,
  type DeliveryResult,
  deliverInOrder,
} from '#shared/use-cases/webhook-delivery.ts';
import { type DeliveryHandlerDeps, deliveryDeps, logger } from './webhook-composition-root.ts';

/** Time an attempt needs beyond its HTTP timeout (stores, visibility change). */
const RECORD_MARGIN_MS = 5_000;

const parseJob = (body: string): WebhookDeliveryJob | string => {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return 'body is not JSON';
  }
  const parsed = WebhookDeliveryJob.safeParse(json);
  return parsed.success
    ? parsed.data
    : parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
};

const whereOf = (job: WebhookDeliveryJob) => ({
  eventId: job.eventId,
  webhookId: job.webhookId,
  type: job.envelope.type,
});

/** `ahead`: delivered from the log ahead of that (younger) job of its group. */
const logOutcome = (job: WebhookDeliveryJob, result: DeliveryResult & { ahead?: string }) => {
  if (result.outcome === 'failed')
    logger.error('webhook delivery failed for good', { ...whereOf(job), ...result });
  else logger.info('webhook job done', { ...whereOf(job), ...result });
};

/**
 * The records of one message group, in order, each delivered in the group's event order (older
 * pending events of the session go first, from the deliveries log). Stops at the first that is not
 * done: its group must wait (the order per session), so it and every later record of the group are
 * reported failed. Answers the ids of the failed records.
 */
const runGroup = async (
  deps: DeliveryHandlerDeps,
  records: SQSRecord[],
  context?: Context,
): Promise<string[]> => {
  const canAttempt = () => {
    const remaining = context?.getRemainingTimeInMillis?.();
    return remaining === undefined || remaining >= DELIVERY_TIMEOUT_MS + RECORD_MARGIN_MS;
  };
  for (const [index, record] of records.entries()) {
    const rest = () => records.slice(index).map((r) => r.messageId);
    if (!canAttempt()) return rest();
    const job = parseJob(record.body);
    try {
      if (typeof job === 'string') {
        // Never deliverable: out of the queue now rather than blocking its group for 1000 receives.
        await deps.control.deadLetter(record.body, job);
        logger.error('invalid delivery job moved to the DLQ', {
          sqsMessageId: record.messageId,
          reason: job,
        });
        continue;
      }
      // In the group's order: older pending events of the session first, after the settle window.
      const result = await deliverInOrder(deps, job, {
        canAttempt,
        onOlder: (older, outcome) => {
          if (outcome.outcome !== 'retry') logOutcome(older, { ...outcome, ahead: job.eventId });
        },
      });
      if (result.outcome === 'no-time') return rest();
      if (result.outcome === 'retry') {
        logger.warn('webhook delivery failed, retrying later', { ...whereOf(job), ...result });
        await deps.control.retryLater(record.receiptHandle, result.retryInSeconds);
        return rest();
      }
      logOutcome(job, result);
    } catch (error) {
      logger.warn('webhook job could not be processed, will be retried', {
        sqsMessageId: record.messageId,
        reason: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
      });
      return rest();
    }
  }
  return [];
};

/**
 * The delivery Lambda on `webhook-deliveries.fifo` (partial batch responses). Groups (one per
 * endpoint and session) run concurrently, so a dead endpoint's 10 s timeouts never delay another
 * endpoint's jobs in the same batch; within a group, records run in order and stop at the first
 * that must wait.
 */
export const createDeliveryHandler =
  (deps: () => DeliveryHandlerDeps) =>
  async (event: SQSEvent, context?: Context): Promise<SQSBatchResponse> => {
    const groups = new Map<string, SQSRecord[]>();
    for (const record of event.Records) {
      const group = record.attributes.MessageGroupId ?? record.messageId;
      groups.set(group, [...(groups.get(group) ?? []), record]);
    }
    const resolved = deps();
    const failed = await Promise.all(
      [...groups.values()].map((records) => runGroup(resolved, records, context)),
    );
    return { batchItemFailures: failed.flat().map((itemIdentifier) => ({ itemIdentifier })) };
  };

export const handler = createDeliveryHandler(deliveryDeps);
