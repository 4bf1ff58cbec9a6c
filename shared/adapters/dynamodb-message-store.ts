import type { Message } from '../domain/entities.ts';
import { isMessageProgress, MESSAGE_STATUSES } from '../domain/session-status.ts';
import type { MessageStatusUpdate, MessageStore } from '../ports/message-store.ts';
import type { Page, PageRequest } from '../ports/page.ts';
import { decodeCursor, encodeCursor } from './dynamodb-page.ts';
import { type DynamoTable, entityOf, updateExpression } from './dynamodb-table.ts';

const messageKey = (messageId: string) => ({ pk: `MESSAGE#${messageId}` });
const conversationPartition = (conversationId: string) => `CONV#${conversationId}`;

/** The stored item of a message (also written inside the conversation store's transaction). */
export const messageItem = (message: Message): Record<string, unknown> => ({
  ...messageKey(message.messageId),
  ...(message.conversationId && {
    gsi1pk: conversationPartition(message.conversationId),
    gsi1sk: `${message.createdAt}#${message.messageId}`,
  }),
  ...message,
});

/** Messages by id; those in a conversation are also listed by time through gsi1 (`CONV#id`). */
export class DynamoMessageStore implements MessageStore {
  constructor(private readonly table: DynamoTable) {}

  async get(messageId: string): Promise<Message | undefined> {
    return entityOf<Message>(await this.table.get(messageKey(messageId)));
  }

  putIfAbsent(message: Message): Promise<boolean> {
    return this.table.put(messageItem(message), { ConditionExpression: 'attribute_not_exists(pk)' });
  }

  async delete(messageId: string): Promise<void> {
    await this.table.delete(messageKey(messageId));
  }

  async updateStatus(messageId: string, update: MessageStatusUpdate): Promise<Message | undefined> {
    const from = MESSAGE_STATUSES.filter((s) => isMessageProgress(s, update.status));
    if (from.length === 0) return undefined;
    const patch = updateExpression({
      status: update.status,
      waMessageId: update.waMessageId,
      error: update.error,
      updatedAt: update.now,
    });
    const fromValues = Object.fromEntries(from.map((s, i) => [`:from${i}`, s]));
    return entityOf<Message>(
      await this.table.update(messageKey(messageId), {
        UpdateExpression: `SET ${patch.set.join(', ')}`,
        ConditionExpression: `attribute_exists(pk) AND #status IN (${Object.keys(fromValues).join(', ')})`,
        ExpressionAttributeNames: { ...patch.names, '#status': 'status' },
        ExpressionAttributeValues: { ...patch.values, ...fromValues },
      }),
    );
  }

  async listByConversation(
    conversationId: string,
    page: PageRequest & { newestFirst?: boolean },
  ): Promise<Page<Message>> {
    const partition = conversationPartition(conversationId);
    const start = page.cursor && decodeCursor(page.cursor, { gsi1pk: partition, pkPrefix: 'MESSAGE#' });
    // One item more than asked tells whether another page exists, so the last page has no cursor.
    const { items } = await this.table.query({
      IndexName: 'gsi1',
      KeyConditionExpression: 'gsi1pk = :p',
      ExpressionAttributeValues: { ':p': partition },
      ScanIndexForward: !page.newestFirst,
      Limit: page.limit + 1,
      ...(start && { ExclusiveStartKey: start }),
    });
    const kept = items.slice(0, page.limit);
    const last = kept.at(-1);
    return {
      items: kept.map((item) => entityOf<Message>(item) as Message),
      ...(items.length > page.limit && last && { nextCursor: encodeCursor(last) }),
    };
  }
}
