import type { Message } from '../domain/entities.ts';
import { isMessageProgress, MESSAGE_STATUSES } from '../domain/session-status.ts';
import type { MessageStatusUpdate, MessageStore } from '../ports/message-store.ts';
import { type DynamoTable, entityOf, updateExpression } from './dynamodb-table.ts';

const messageKey = (messageId: string) => ({ pk: `MESSAGE#${messageId}` });

/** Messages by id; those in a conversation are also listed by time through gsi1 (`CONV#id`). */
export class DynamoMessageStore implements MessageStore {
  constructor(private readonly table: DynamoTable) {}

  async get(messageId: string): Promise<Message | undefined> {
    return entityOf<Message>(await this.table.get(messageKey(messageId)));
  }

  putIfAbsent(message: Message): Promise<boolean> {
    const item = {
      ...messageKey(message.messageId),
      ...(message.conversationId && {
        gsi1pk: `CONV#${message.conversationId}`,
        gsi1sk: `${message.createdAt}#${message.messageId}`,
      }),
      ...message,
    };
    return this.table.put(item, { ConditionExpression: 'attribute_not_exists(pk)' });
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
}
