import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../domain/ids.ts';
import { provisionTestAws, type TestAws } from '../testing/aws-test-env.ts';
import { aMessage } from '../testing/builders.ts';
import { DynamoConversationStore } from './dynamodb-conversation-store.ts';
import { DynamoTable } from './dynamodb-table.ts';

// What only the DynamoDB store has: its guess of which window condition to try first is per
// process, and the count itself lives on the usage item, so API containers share one send rate.

let aws: TestAws;
beforeAll(async () => {
  aws = await provisionTestAws();
});
afterAll(() => aws?.destroy());

describe('DynamoConversationStore: the send rate across processes', () => {
  it("counts every process's sends against one limit per tenant, whatever each process saw last", async () => {
    const tables = { messages: aws.env.MESSAGES_TABLE as string, usage: aws.env.USAGE_TABLE as string };
    const [a, b] = [0, 1].map(() => new DynamoConversationStore(aws.clients.dynamo, tables));
    const tenantId = `t-${newId()}`;
    const conversationId = newId();
    const send = (store: DynamoConversationStore | undefined, second: number) => {
      const at = new Date(Date.parse('2026-03-01T10:01:00.000Z') + second * 1000);
      return store?.appendMessage({
        message: aMessage({ tenantId, conversationId, createdAt: at.toISOString() }),
        peer: '4915100000002@s.whatsapp.net',
        usage: { messagesOut: 1 },
        now: at.toISOString(),
        limit: { limit: 3, windowSeconds: 60, at },
      });
    };
    expect(await send(a, 0)).toBe(true); // a starts the window
    expect(await send(b, 1)).toBe(true); // b tries to start it, then counts in it
    expect(await send(a, 2)).toBe(true);
    await expect(send(b, 3)).rejects.toMatchObject({ code: 'RATE_LIMITED' });
    await expect(send(a, 4)).rejects.toMatchObject({ code: 'RATE_LIMITED' });
    const usage = new DynamoTable(aws.clients.dynamo, tables.usage);
    expect(await usage.get({ pk: `TENANT#${tenantId}`, sk: 'DAY#2026-03-01' })).toMatchObject({
      messagesOut: 3,
      sendCount: 3,
    });
  });
});
