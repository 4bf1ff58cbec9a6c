import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SendClaim } from '../ports/message-store.ts';
import { provisionTestAws, type TestAws } from '../testing/aws-test-env.ts';
import { aMessage } from '../testing/builders.ts';
import { DynamoMessageStore } from './dynamodb-message-store.ts';
import { DynamoTable } from './dynamodb-table.ts';
import { GSI3 } from './table-definitions.ts';

// What only the DynamoDB store has: where a send's WhatsApp id is kept (gsi3 on the message, a link
// item in the previous version) and that sends claimed by that version are still found.

let aws: TestAws;
let table: DynamoTable;
beforeAll(async () => {
  aws = await provisionTestAws();
  table = new DynamoTable(aws.clients.dynamo, aws.env.MESSAGES_TABLE as string);
});
afterAll(() => aws?.destroy());

const NOW = '2026-01-01T12:00:00.000Z';
const claimOf = (sessionId: string, waMessageId: string): SendClaim => ({
  sessionId,
  tenantId: 'tenant-a',
  fence: 3,
  runnerId: 'runner-1',
  waMessageId,
  now: NOW,
  staleBefore: '2026-01-01T11:55:00.000Z',
});
const itemsOf = async (pkPrefix: string) =>
  (
    (await aws.clients.dynamo.send(new ScanCommand({ TableName: aws.env.MESSAGES_TABLE as string }))).Items ??
    []
  ).filter((i) => String(i.pk).startsWith(pkPrefix));

describe('DynamoMessageStore: sends by WhatsApp id', () => {
  it('a claim writes no link item, and a store that did not claim it (a restarted runner) finds it through gsi3', async () => {
    const message = aMessage({ sessionId: `s-${Math.random()}` });
    await new DynamoMessageStore(table).putIfAbsent(message);
    const claim = claimOf(message.sessionId, '3EB0AAAA00000000000001');
    expect((await new DynamoMessageStore(table).claimSend(message.messageId, claim)).kind).toBe('claimed');

    expect(await itemsOf(`WAMSG#${message.sessionId}#`)).toEqual([]);
    const restarted = new DynamoMessageStore(table);
    const found = await restarted.findByWaMessageId(message.sessionId, claim.waMessageId);
    expect(found).toMatchObject({ messageId: message.messageId, waMessageId: claim.waMessageId });
    // The index keys are bookkeeping, never part of the message.
    expect(Object.keys(found ?? {}).filter((k) => k.startsWith('gsi'))).toEqual([]);
    expect(await restarted.findByWaMessageId('another-session', claim.waMessageId)).toBeUndefined();
  });

  it('knows the messageId of a send it claimed without reading it, and one it did not claim through gsi3', async () => {
    const store = new DynamoMessageStore(table);
    const message = aMessage({ sessionId: `s-${Math.random()}` });
    await store.putIfAbsent(message);
    const claim = claimOf(message.sessionId, '3EB0AAAA00000000000003');
    await store.claimSend(message.messageId, claim);
    const restarted = new DynamoMessageStore(table);
    expect(await restarted.findIdByWaMessageId(message.sessionId, claim.waMessageId)).toBe(message.messageId);
    expect(await restarted.findIdByWaMessageId('another-session', claim.waMessageId)).toBeUndefined();
    // With the item gone, only the claiming store still answers: from its claim, not from a read.
    await store.delete(message.messageId);
    expect(await restarted.findIdByWaMessageId(message.sessionId, claim.waMessageId)).toBeUndefined();
    expect(await store.findIdByWaMessageId(message.sessionId, claim.waMessageId)).toBe(message.messageId);
    // A receipt's status write for it is then refused (the item must exist), not an error.
    expect(
      await store.updateStatus(message.messageId, {
        status: 'DELIVERED',
        fence: 3,
        now: NOW,
        sessionId: message.sessionId,
      }),
    ).toBeUndefined();
  });

  it('keeps finding the send after its status writes, and gsi3 holds its keys only', async () => {
    const store = new DynamoMessageStore(table);
    const message = aMessage({ sessionId: `s-${Math.random()}` });
    await store.putIfAbsent(message);
    const claim = claimOf(message.sessionId, '3EB0AAAA00000000000002');
    await store.claimSend(message.messageId, claim);
    await store.updateStatus(message.messageId, {
      status: 'SENT',
      fence: 3,
      now: NOW,
      sessionId: claim.sessionId,
    });
    await store.updateStatus(message.messageId, { status: 'DELIVERED', fence: 3, now: NOW });

    const { items } = await table.query({
      IndexName: GSI3,
      KeyConditionExpression: 'gsi3pk = :p',
      ExpressionAttributeValues: { ':p': `WAID#${message.sessionId}` },
    });
    expect(items.map((i) => Object.keys(i).sort())).toEqual([['gsi3pk', 'gsi3sk', 'pk']]);
    expect(
      await new DynamoMessageStore(table).findByWaMessageId(message.sessionId, claim.waMessageId),
    ).toMatchObject({ messageId: message.messageId, status: 'DELIVERED' });
  });

  it('still finds a send the previous version claimed (a link item, no gsi3 keys on the message)', async () => {
    const store = new DynamoMessageStore(table);
    const message = aMessage({ sessionId: `s-${Math.random()}` });
    const waMessageId = '3EB0AAAA00000000000003';
    await store.putIfAbsent(message);
    // The previous version's claim: the WhatsApp id on the message, and a link item beside it.
    await table.update(
      { pk: `MESSAGE#${message.messageId}` },
      {
        UpdateExpression: 'SET fence = :f, claimedBy = :r, claimedAt = :now, waMessageId = :wa',
        ExpressionAttributeValues: { ':f': 2, ':r': 'old-runner', ':now': NOW, ':wa': waMessageId },
      },
    );
    await table.put({
      pk: `WAMSG#${message.sessionId}#${waMessageId}`,
      messageId: message.messageId,
      ttl: Math.floor(Date.parse(NOW) / 1000) + 60 * 86_400,
    });

    expect(await store.findByWaMessageId(message.sessionId, waMessageId)).toMatchObject({
      messageId: message.messageId,
    });
    // A link naming a message of another session finds nothing.
    expect(await store.findByWaMessageId('another-session', waMessageId)).toBeUndefined();
    expect(await store.findByWaMessageId(message.sessionId, '3EB0UNKNOWN')).toBeUndefined();
  });
});
