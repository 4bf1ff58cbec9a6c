import type { DynamoTable } from './dynamodb-table.ts';

// Key shapes of the messages table, as the conversation and message stores write them.
const sessionConversations = (sessionId: string) => `SESSIONCONVS#${sessionId}`;
const conversationMessages = (conversationId: string) => `CONV#${conversationId}`;
const queuedSends = (sessionId: string) => `QUEUED#${sessionId}`;
/** The link item of a send claimed before gsi3 (expires by TTL): most sends have none. */
const legacyWaIdKey = (sessionId: string, waMessageId: string) => ({
  pk: `WAMSG#${sessionId}#${waMessageId}`,
});

type Item = { pk: string; sessionId?: string; waMessageId?: string; conversationId?: string };

/**
 * Deletes what the messages table holds of one session (a session deleted with `purge`): every
 * conversation, its messages, the WhatsApp-id link items of sends claimed before those ids moved
 * onto the message (gsi3), and sends still queued outside a conversation. Idempotent (a retried
 * purge finds less to delete). Only items whose `sessionId` is this session's are deleted. Answers
 * how many items were deleted: a link key tried for a send that has none is not counted.
 */
export const purgeSessionMessages = async (messages: DynamoTable, sessionId: string): Promise<number> => {
  const keysOnly = { ProjectionExpression: 'pk, sessionId, waMessageId, conversationId' };
  const byIndex = (index: 'gsi1' | 'gsi2', partition: string) =>
    messages.queryAll<Item>({
      IndexName: index,
      KeyConditionExpression: `${index}pk = :p`,
      ExpressionAttributeValues: { ':p': partition },
      ...keysOnly,
    });
  const conversations = await byIndex('gsi1', sessionConversations(sessionId));
  const items: Item[] = [];
  for (const conversation of conversations) {
    if (conversation.sessionId !== sessionId || !conversation.conversationId) continue;
    items.push(...(await byIndex('gsi1', conversationMessages(conversation.conversationId))));
  }
  items.push(...(await byIndex('gsi2', queuedSends(sessionId))));
  const own = items.filter((item) => item.sessionId === sessionId);
  const keys = new Set<string>();
  for (const item of own) {
    keys.add(item.pk);
    if (item.waMessageId) keys.add(legacyWaIdKey(sessionId, item.waMessageId).pk);
  }
  // Counted only when it was there (a concurrent purge or a missing link item deletes nothing).
  const existed = { ConditionExpression: 'attribute_exists(pk)' };
  let deleted = 0;
  for (const key of keys) if (await messages.delete({ pk: key }, existed)) deleted++;
  // The conversations last: a purge cut short is found again through them.
  for (const conversation of conversations) {
    if (conversation.sessionId !== sessionId) continue;
    if (await messages.delete({ pk: conversation.pk }, existed)) deleted++;
  }
  return deleted;
};
