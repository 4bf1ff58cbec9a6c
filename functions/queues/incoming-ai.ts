import { processPartialResponse, SqsFifoPartialProcessorAsync } from '@aws-lambda-powertools/batch';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { MAX_RECEIVE_COUNT } from '#shared/adapters/queue-definitions.ts';
import { MessageReceived } from '#shared/contracts/incoming.ts';
import { AppError, isRetryable, ValidationError } from '#shared/errors.ts';
import { type AiDeps, processIncoming } from '#shared/use-cases/process-incoming.ts';
import { aiDeps, logger } from './ai-composition-root.ts';

/**
 * Messages stored and not answered because of a limit the operator set, as CloudWatch metrics
 * (Embedded Metric Format in the warning's log line): a tenant at its daily AI replies, or a chatbot
 * naming a model the stage does not allow.
 */
const UNANSWERED_METRICS = {
  'ai-reply-limit': 'AiRepliesLimited',
  'model-not-allowed': 'AiModelRefused',
} as const;

/** The fields that make a log line an EMF count of `name` (namespace WhatsAppGateway, by service). */
export const emfCount = (name: string) => ({
  _aws: {
    Timestamp: Date.now(),
    CloudWatchMetrics: [
      { Namespace: 'WhatsAppGateway', Dimensions: [['service']], Metrics: [{ Name: name, Unit: 'Count' }] },
    ],
  },
  [name]: 1,
});

/** Time a record needs beyond the model's timeout (stores, enqueue). */
const RECORD_MARGIN_MS = 5_000;

const parseRecord = (record: SQSRecord): MessageReceived => {
  let body: unknown;
  try {
    body = JSON.parse(record.body);
  } catch {
    throw new ValidationError([{ path: 'body', message: 'is not JSON' }], 'Invalid message.received');
  }
  const parsed = MessageReceived.safeParse(body);
  if (!parsed.success) {
    throw new ValidationError(
      parsed.error.issues.map((i) => ({
        path: ['body', ...i.path.map(String)].join('.'),
        message: i.message,
      })),
      'Invalid message.received',
    );
  }
  return parsed.data;
};

const describeError = (error: unknown) =>
  error instanceof AppError
    ? { code: error.code, kind: error.kind, reason: error.message, details: error.details }
    : {
        code: 'UNEXPECTED',
        reason: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
      };

/**
 * One record: parse, then the use case. Every failure is reported as a batch item failure, so SQS
 * redelivers it after the visibility timeout and, after its last receive, moves it to the DLQ:
 * a failing provider is retried, and an invalid record (which will never pass) ends in the DLQ
 * after a few receives instead of blocking its group forever. The reason is logged on every
 * attempt, and as an error on the last one.
 */
const recordHandler = (deps: AiDeps, context: Context | undefined) => async (record: SQSRecord) => {
  const receiveCount = Number(record.attributes.ApproximateReceiveCount ?? '1');
  const where = { sqsMessageId: record.messageId, receiveCount };
  try {
    const event = parseRecord(record);
    // Not enough time left to ask the model: hand the record back rather than being cut off mid-way.
    const remaining = context?.getRemainingTimeInMillis?.();
    if (remaining !== undefined && remaining < deps.limits.timeoutMs + RECORD_MARGIN_MS) {
      throw new AppError(
        'unavailable',
        'NO_TIME_LEFT',
        'Too little time left in this invocation to ask the model',
      );
    }
    const result = await processIncoming(deps, event);
    logger.info('message processed', { ...where, ...result });
    if (result.noReply && result.noReply in UNANSWERED_METRICS) {
      const metric = UNANSWERED_METRICS[result.noReply as keyof typeof UNANSWERED_METRICS];
      logger.warn(`message stored but not answered: ${result.noReply}`, {
        ...where,
        tenantId: event.tenantId,
        chatbotId: event.chatbotId,
        ...emfCount(metric),
      });
    }
  } catch (error) {
    const last = receiveCount >= MAX_RECEIVE_COUNT;
    const detail = { ...where, ...describeError(error), lastAttempt: last };
    if (last || !isRetryable(error)) {
      logger.error(
        last ? 'message failed for the last time: SQS moves it to the DLQ' : 'message refused',
        detail,
      );
    } else {
      logger.warn('message failed, will be retried', detail);
    }
    throw error;
  }
};

/**
 * The AI Lambda on `incoming.fifo`. FIFO semantics: records are handled in order and a failure
 * fails the later records of the same message group too (skipGroupOnError), so a conversation
 * keeps its order while other conversations in the batch go on. Answers the partial batch response.
 */
export const createIncomingHandler =
  (deps: () => AiDeps) =>
  async (event: SQSEvent, context?: Context): Promise<SQSBatchResponse> =>
    processPartialResponse(event, recordHandler(deps(), context), new SqsFifoPartialProcessorAsync(), {
      skipGroupOnError: true,
      throwOnFullBatchFailure: false,
    });

export const handler = createIncomingHandler(aiDeps);
