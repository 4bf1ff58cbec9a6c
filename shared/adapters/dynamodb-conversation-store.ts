import { type DynamoDBDocumentClient, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { DependencyUnavailableError, RateLimitedError } from '../errors.ts';
import {
  type AppendedMessage,
  type Conversation,
  type ConversationStore,
  LAST_MESSAGE_PREVIEW_CHARS,
} from '../ports/conversation-store.ts';
import type { Page, PageRequest } from '../ports/page.ts';
import { retryAfterOf, windowOf } from '../ports/rate-limiter.ts';
import { usageDayOf } from '../ports/usage-store.ts';
import { guard } from './aws-errors.ts';
import { messageItem } from './dynamodb-message-store.ts';
import { queryPage } from './dynamodb-page.ts';
import { DynamoTable, entityOf } from './dynamodb-table.ts';
import { usageIncrement, type WindowUse } from './dynamodb-usage-store.ts';

const conversationKey = (conversationId: string) => ({ pk: `CONVERSATION#${conversationId}` });
const sessionPartition = (sessionId: string) => `SESSIONCONVS#${sessionId}`;
/** Tenants whose current send window this process saw started (a hint only, bounded). */
const STARTED_WINDOWS_KEPT = 10_000;

/**
 * Conversations live in the Messages table (`CONVERSATION#<id>`), listed per session by last
 * activity through gsi1 (`SESSIONCONVS#<sessionId>` / `<lastMessageAt>#<conversationId>`).
 *
 * Storing a message, updating its conversation and counting usage is one TransactWriteItems
 * whose first item is the message put with `attribute_not_exists(pk)`. Counting "only when newly
 * stored" as separate writes would lose or double a count if the process died between them (a
 * Lambda timeout, a crash) and the batch was redelivered; in one transaction the message exists
 * exactly when it was counted, and a redelivered message cancels the whole transaction.
 *
 * An API send's use of the tenant's send rate is counted on the same usage item, under a condition
 * (no write of its own): the message is stored exactly when it fits the limit.
 */
export class DynamoConversationStore implements ConversationStore {
  private readonly messages: DynamoTable;
  /** tenantId → the send window this process last saw started: which condition to try first. */
  private readonly startedWindows = new Map<string, number>();

  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tables: { messages: string; usage: string },
  ) {
    this.messages = new DynamoTable(client, tables.messages);
  }

  async get(conversationId: string): Promise<Conversation | undefined> {
    return entityOf<Conversation>(await this.messages.get(conversationKey(conversationId)));
  }

  async listBySession(sessionId: string, page: PageRequest): Promise<Page<Conversation>> {
    return queryPage<Conversation>(
      this.messages,
      { index: 'gsi1', partition: sessionPartition(sessionId), pkPrefix: 'CONVERSATION#' },
      page,
    );
  }

  async appendMessage(entry: AppendedMessage): Promise<boolean> {
    const { limit, message } = entry;
    if (!limit) return (await this.append(entry)) as boolean;
    const window = windowOf(limit, limit.at);
    // Counting in a started window and starting a later one are two conditions: the one this
    // process expects first, then the other, then counting once more (another caller started it).
    const modes: WindowUse['mode'][] =
      this.startedWindows.get(message.tenantId) === window ? ['count', 'start', 'count'] : ['start', 'count'];
    for (const mode of modes) {
      const outcome = await this.append(entry, { mode, window, limit: limit.limit });
      // Stored, or refused a start: either way the window has started.
      if (outcome === true || (mode === 'start' && outcome === 'refused'))
        this.noteStarted(message.tenantId, window);
      if (outcome !== 'refused') return outcome;
    }
    throw new RateLimitedError(retryAfterOf(limit, limit.at));
  }

  private noteStarted(tenantId: string, window: number): void {
    if (this.startedWindows.size >= STARTED_WINDOWS_KEPT) this.startedWindows.clear();
    this.startedWindows.set(tenantId, window);
  }

  /** The transaction; `refused` when the usage item's window condition failed (nothing written). */
  private async append(entry: AppendedMessage, windowUse?: WindowUse): Promise<boolean | 'refused'> {
    const { message, now } = entry;
    const conversationId = message.conversationId;
    if (!conversationId) throw new Error('appendMessage needs a message with a conversationId');
    const inbound = message.direction === 'in';
    const usage = usageIncrement(message.tenantId, usageDayOf(message.createdAt), entry.usage, windowUse);
    try {
      await guard('dynamodb', () =>
        this.client.send(
          new TransactWriteCommand({
            TransactItems: [
              {
                Put: {
                  TableName: this.tables.messages,
                  Item: messageItem(message),
                  ConditionExpression: 'attribute_not_exists(pk)',
                },
              },
              {
                Update: {
                  TableName: this.tables.messages,
                  Key: conversationKey(conversationId),
                  UpdateExpression: [
                    'SET conversationId = :id, tenantId = :tenantId, sessionId = :sessionId, peer = :peer',
                    entry.peerName ? ', peerName = :peerName' : '',
                    ', lastMessageAt = :now, lastMessageText = :text, lastDirection = :direction',
                    ', gsi1pk = :gsi1pk, gsi1sk = :gsi1sk, updatedAt = :now',
                    ', createdAt = if_not_exists(createdAt, :now)',
                    inbound ? '' : ', unreadCount = :zero',
                    ' ADD messageCount :one',
                    inbound ? ', unreadCount :one' : '',
                  ].join(''),
                  ExpressionAttributeValues: {
                    ':id': conversationId,
                    ':tenantId': message.tenantId,
                    ':sessionId': message.sessionId,
                    ':peer': entry.peer,
                    ...(entry.peerName && { ':peerName': entry.peerName }),
                    ':now': now,
                    ':text': message.text.slice(0, LAST_MESSAGE_PREVIEW_CHARS),
                    ':direction': message.direction,
                    ':gsi1pk': sessionPartition(message.sessionId),
                    ':gsi1sk': `${now}#${conversationId}`,
                    ':one': 1,
                    ...(!inbound && { ':zero': 0 }),
                  },
                },
              },
              { Update: { TableName: this.tables.usage, ...usage } },
            ],
          }),
        ),
      );
      return true;
    } catch (error) {
      if (!(error instanceof Error) || error.name !== 'TransactionCanceledException') throw error;
      // The reasons are in item order: the message put is first.
      const reasons = (error as { CancellationReasons?: { Code?: string }[] }).CancellationReasons;
      if (reasons?.[0]?.Code === 'ConditionalCheckFailed') return false;
      if (windowUse && reasons?.[2]?.Code === 'ConditionalCheckFailed') return 'refused';
      // A conflict with a concurrent transaction on the same conversation or day: retry later.
      throw new DependencyUnavailableError('dynamodb', error);
    }
  }
}
