import { type DynamoDBDocumentClient, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { DependencyUnavailableError } from '../errors.ts';
import {
  type AppendedMessage,
  type Conversation,
  type ConversationStore,
  LAST_MESSAGE_PREVIEW_CHARS,
} from '../ports/conversation-store.ts';
import type { Page, PageRequest } from '../ports/page.ts';
import { usageDayOf } from '../ports/usage-store.ts';
import { guard } from './aws-errors.ts';
import { messageItem } from './dynamodb-message-store.ts';
import { queryPage } from './dynamodb-page.ts';
import { DynamoTable, entityOf } from './dynamodb-table.ts';
import { usageIncrement } from './dynamodb-usage-store.ts';

const conversationKey = (conversationId: string) => ({ pk: `CONVERSATION#${conversationId}` });
const sessionPartition = (sessionId: string) => `SESSIONCONVS#${sessionId}`;

/**
 * Conversations live in the Messages table (`CONVERSATION#<id>`), listed per session by last
 * activity through gsi1 (`SESSIONCONVS#<sessionId>` / `<lastMessageAt>#<conversationId>`).
 *
 * Storing a message, updating its conversation and counting usage is one TransactWriteItems
 * whose first item is the message put with `attribute_not_exists(pk)`. Counting "only when newly
 * stored" as separate writes would lose or double a count if the process died between them (a
 * Lambda timeout, a crash) and the batch was redelivered; in one transaction the message exists
 * exactly when it was counted, and a redelivered message cancels the whole transaction.
 */
export class DynamoConversationStore implements ConversationStore {
  private readonly messages: DynamoTable;

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
    const { message, now } = entry;
    const conversationId = message.conversationId;
    if (!conversationId) throw new Error('appendMessage needs a message with a conversationId');
    const inbound = message.direction === 'in';
    const usage = usageIncrement(message.tenantId, usageDayOf(message.createdAt), entry.usage);
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
      // A conflict with a concurrent transaction on the same conversation or day: retry later.
      throw new DependencyUnavailableError('dynamodb', error);
    }
  }
}
