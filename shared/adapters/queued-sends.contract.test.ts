import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../domain/ids.ts';
import type { MessageStore } from '../ports/message-store.ts';
import { provisionTestAws, type TestAws } from '../testing/aws-test-env.ts';
import { aMessage } from '../testing/builders.ts';
import { InMemoryMessageStore } from '../testing/in-memory-stores.ts';
import { DynamoMessageStore } from './dynamodb-message-store.ts';
import { DynamoTable } from './dynamodb-table.ts';

// The message store's side for the send sweeper (the sparse QUEUED index, resend counts, giving up),
// the same cases against the in-memory fake and DynamoDB Local.

let aws: TestAws;
beforeAll(async () => {
  aws = await provisionTestAws();
});
afterAll(() => aws?.destroy());

const at = (minute: number) => new Date(Date.UTC(2026, 0, 1, 12, minute)).toISOString();

describe.each([
  ['in-memory fake', () => new InMemoryMessageStore()],
  [
    'DynamoDB adapter on DynamoDB Local',
    () => new DynamoMessageStore(new DynamoTable(aws.clients.dynamo, aws.env.MESSAGES_TABLE as string)),
  ],
])('queued sends contract: %s', (_name, make) => {
  let store: MessageStore;
  beforeAll(() => {
    store = make();
  });

  const claim = (m: { sessionId: string; tenantId: string }, fence: number, now: string) => ({
    sessionId: m.sessionId,
    tenantId: m.tenantId,
    fence,
    runnerId: `runner-${fence}`,
    waMessageId: `3EB0${newId().slice(0, 8).toUpperCase()}`,
    now,
    staleBefore: at(0),
  });

  it("lists a session's QUEUED sends accepted before the bound, oldest first, with their bookkeeping", async () => {
    const sessionId = newId();
    const first = aMessage({ sessionId, createdAt: at(1) });
    const second = aMessage({ sessionId, createdAt: at(2) });
    const tooYoung = aMessage({ sessionId, createdAt: at(9) });
    const sent = aMessage({ sessionId, createdAt: at(1) });
    const otherSession = aMessage({ createdAt: at(1) });
    for (const m of [second, tooYoung, sent, first, otherSession]) await store.putIfAbsent(m);
    await store.updateStatus(sent.messageId, { status: 'SENT', now: at(3) });
    await store.claimSend(second.messageId, claim(second, 4, at(4)));
    await store.noteResend(first.messageId, { fence: 4, now: at(5) });

    const queued = await store.listQueued(sessionId, { createdBefore: at(5), limit: 10 });
    expect(queued.map((q) => q.message.messageId)).toEqual([first.messageId, second.messageId]);
    expect(queued[0]).toEqual({ message: first, resends: 1, resentAt: at(5) });
    expect(queued[1]).toMatchObject({ resends: 0, claimedAt: at(4), message: { status: 'QUEUED' } });
    expect(queued[1]).not.toHaveProperty('resentAt');
    expect(await store.listQueued(sessionId, { createdBefore: at(5), limit: 1 })).toHaveLength(1);
    // The sweeper's bookkeeping is not part of the message the API shows.
    expect(await store.get(first.messageId)).toEqual(first);
  });

  it('counts the enqueues of a send, fenced, and only while it is QUEUED', async () => {
    const message = aMessage({ createdAt: at(1) });
    await store.putIfAbsent(message);
    expect(await store.noteResend(message.messageId, { fence: 3, now: at(4) })).toBe(1);
    expect(await store.noteResend(message.messageId, { fence: 3, now: at(6) })).toBe(2);
    await store.claimSend(message.messageId, claim(message, 5, at(7))); // a newer owner
    expect(await store.noteResend(message.messageId, { fence: 3, now: at(8) })).toBeUndefined();
    await store.updateStatus(message.messageId, { status: 'SENT', fence: 5, now: at(9) });
    expect(await store.noteResend(message.messageId, { fence: 5, now: at(10) })).toBeUndefined();
    expect(await store.noteResend(newId(), { fence: 5, now: at(10) })).toBeUndefined();
  });

  it('gives a send up as FAILED with its reason, never under a live claim, a newer fence or another session', async () => {
    const message = aMessage({ createdAt: at(1) });
    await store.putIfAbsent(message);
    await store.claimSend(message.messageId, claim(message, 3, at(10)));
    const giveUp = {
      sessionId: message.sessionId,
      fence: 3,
      error: 'NOT_SENT',
      now: at(12),
      claimStaleBefore: at(7),
    };
    expect(await store.giveUpSend(message.messageId, giveUp)).toBeUndefined(); // claim at 10 is live
    expect(await store.giveUpSend(message.messageId, { ...giveUp, claimStaleBefore: at(11), fence: 2 })).toBe(
      undefined,
    );
    expect(
      await store.giveUpSend(message.messageId, { ...giveUp, claimStaleBefore: at(11), sessionId: newId() }),
    ).toBeUndefined();
    expect((await store.get(message.messageId))?.status).toBe('QUEUED');

    const failed = await store.giveUpSend(message.messageId, { ...giveUp, claimStaleBefore: at(11) });
    expect(failed).toMatchObject({ status: 'FAILED', error: 'NOT_SENT', updatedAt: at(12) });
    expect(Object.keys(failed ?? {}).sort()).toEqual(
      Object.keys({ ...message, waMessageId: 'x', error: 'x' }).sort(),
    );
    expect(await store.listQueued(message.sessionId, { createdBefore: at(59), limit: 10 })).toEqual([]);
    // Final: never revived, never given up twice.
    expect(await store.updateStatus(message.messageId, { status: 'SENT', now: at(13) })).toBeUndefined();
    expect(
      await store.giveUpSend(message.messageId, { ...giveUp, claimStaleBefore: at(11) }),
    ).toBeUndefined();
  });
});
