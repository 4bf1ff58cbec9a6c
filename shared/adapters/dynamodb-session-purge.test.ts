import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deriveId, newId } from '../domain/ids.ts';
import { provisionTestAws, type TestAws } from '../testing/aws-test-env.ts';
import { aMessage } from '../testing/builders.ts';
import { DynamoConversationStore } from './dynamodb-conversation-store.ts';
import { DynamoMessageStore } from './dynamodb-message-store.ts';
import { purgeSessionMessages } from './dynamodb-session-purge.ts';
import { DynamoTable } from './dynamodb-table.ts';

// The purge of a deleted session's conversations and messages, on DynamoDB Local.

let aws: TestAws;
beforeAll(async () => {
  aws = await provisionTestAws();
});
afterAll(() => aws?.destroy());

const NOW = '2026-02-01T09:00:00.000Z';

describe('purgeSessionMessages', () => {
  it("deletes a session's conversations, messages and old WhatsApp-id link items, counting only what it deleted, and nothing of another session", async () => {
    const table = new DynamoTable(aws.clients.dynamo, aws.env.MESSAGES_TABLE as string);
    const conversations = new DynamoConversationStore(aws.clients.dynamo, {
      messages: aws.env.MESSAGES_TABLE as string,
      usage: aws.env.USAGE_TABLE as string,
    });
    const messages = new DynamoMessageStore(table);
    const [doomed, kept] = [newId(), newId()];
    const stored: Record<string, string[]> = { [doomed]: [], [kept]: [] };
    for (const sessionId of [doomed, kept]) {
      for (const peer of ['4915100000011@s.whatsapp.net', '4915100000012@s.whatsapp.net']) {
        const message = aMessage({ sessionId, conversationId: deriveId('conv', sessionId, peer), to: peer });
        await conversations.appendMessage({ message, peer, usage: { messagesOut: 1 }, now: NOW });
        stored[sessionId]?.push(message.messageId);
      }
    }
    // Both of its sends claimed: the first before gsi3 (it also has a link item), the second since
    // (its WhatsApp id is on the message only, no link item to delete or count).
    const [legacy, recent] = stored[doomed] ?? [];
    for (const [messageId, waMessageId] of [
      [legacy, 'WA-1'],
      [recent, 'WA-2'],
    ] as const) {
      const claim = await messages.claimSend(messageId as string, {
        sessionId: doomed,
        tenantId: 'tenant-a',
        fence: 1,
        runnerId: 'r',
        waMessageId,
        now: NOW,
        staleBefore: NOW,
      });
      expect(claim.kind).toBe('claimed');
    }
    await table.put({ pk: `WAMSG#${doomed}#WA-1`, messageId: legacy as string, sessionId: doomed });
    const fresh = new DynamoMessageStore(table); // nothing remembered in-process: the stored links are read
    expect(await fresh.findByWaMessageId(doomed, 'WA-1')).toBeDefined();
    expect(await fresh.findByWaMessageId(doomed, 'WA-2')).toBeDefined();

    expect(await purgeSessionMessages(table, doomed)).toBe(5); // 2 messages, 1 link item, 2 conversations
    for (const id of stored[doomed] ?? []) expect(await messages.get(id)).toBeUndefined();
    expect(await table.get({ pk: `WAMSG#${doomed}#WA-1` })).toBeUndefined();
    expect(await fresh.findByWaMessageId(doomed, 'WA-1')).toBeUndefined();
    expect(await fresh.findByWaMessageId(doomed, 'WA-2')).toBeUndefined();
    expect((await conversations.listBySession(doomed, { limit: 10 })).items).toEqual([]);
    for (const id of stored[kept] ?? []) expect(await messages.get(id)).toBeDefined();
    expect((await conversations.listBySession(kept, { limit: 10 })).items).toHaveLength(2);
    expect(await purgeSessionMessages(table, doomed)).toBe(0);
  });
});
