import { beforeEach, describe, expect, it } from 'vitest';
import { aMessage } from '../testing/builders.ts';
import { InMemoryMessageStore } from '../testing/in-memory-stores.ts';
import { RECEIPT_LOOKUP_WAITS_MS, type Receipt, recordReceipt } from './receipts.ts';

/** The message store with gsi3's lag: the WhatsApp id is found only from the `findableFrom`-th lookup on. */
class LaggingIndexStore extends InMemoryMessageStore {
  lookups = 0;
  findableFrom = 1;
  override async findIdByWaMessageId(sessionId: string, waMessageId: string): Promise<string | undefined> {
    this.lookups += 1;
    if (this.lookups < this.findableFrom) return undefined;
    return super.findIdByWaMessageId(sessionId, waMessageId);
  }
}

const WA_ID = '3EB0AAAAAAAAAAAAAAAAAA';
let messages: LaggingIndexStore;
let sleeps: number[];
let messageId: string;
const deps = () => ({
  messages,
  sleep: async (ms: number) => {
    sleeps.push(ms);
  },
});
const receipt = (overrides: Partial<Receipt> = {}): Receipt => ({
  sessionId: 's-1',
  waMessageId: WA_ID,
  status: 'DELIVERED',
  fence: 1,
  now: () => new Date().toISOString(),
  ...overrides,
});

beforeEach(async () => {
  messages = new LaggingIndexStore();
  sleeps = [];
  const message = aMessage({ sessionId: 's-1', tenantId: 't-1' });
  messageId = message.messageId;
  await messages.putIfAbsent(message);
  const claim = await messages.claimSend(messageId, {
    sessionId: 's-1',
    tenantId: 't-1',
    fence: 1,
    runnerId: 'runner-a',
    waMessageId: WA_ID,
    now: new Date().toISOString(),
    staleBefore: new Date(0).toISOString(),
  });
  expect(claim.kind).toBe('claimed');
  messages.lookups = 0;
});

describe('recordReceipt', () => {
  it('waits for a WhatsApp id the index finds only on the 2nd lookup, then stores the receipt', async () => {
    messages.findableFrom = 2;
    expect(await recordReceipt(deps(), receipt())).toBe('stored');
    expect(messages.lookups).toBe(2);
    expect(sleeps).toEqual([250]);
    expect((await messages.get(messageId))?.status).toBe('DELIVERED');
  });

  it('waits for a WhatsApp id the index finds only on the 3rd lookup, then stores the receipt', async () => {
    messages.findableFrom = 3;
    expect(await recordReceipt(deps(), receipt({ status: 'READ' }))).toBe('stored');
    expect(messages.lookups).toBe(3);
    expect(sleeps).toEqual([250, 500]);
    expect((await messages.get(messageId))?.status).toBe('READ');
  });

  it('answers unknown after the bounded waits when the id never becomes findable, writing nothing', async () => {
    messages.findableFrom = Number.POSITIVE_INFINITY;
    expect(await recordReceipt(deps(), receipt())).toBe('unknown');
    expect(messages.lookups).toBe(RECEIPT_LOOKUP_WAITS_MS.length + 1);
    expect(sleeps).toEqual([...RECEIPT_LOOKUP_WAITS_MS]);
    expect((await messages.get(messageId))?.status).toBe('QUEUED');
  });

  it('looks an id up once when the caller gives no waits (an id it never sends under)', async () => {
    expect(await recordReceipt(deps(), receipt({ waMessageId: 'ABCDEF0123' }), [])).toBe('unknown');
    expect(messages.lookups).toBe(1);
    expect(sleeps).toEqual([]);
  });

  it('answers unchanged for a receipt that would move the status back, or from an older fence', async () => {
    expect(await recordReceipt(deps(), receipt({ status: 'READ', fence: 0 }))).toBe('unchanged');
    expect((await messages.get(messageId))?.status).toBe('QUEUED');
    expect(await recordReceipt(deps(), receipt({ status: 'READ' }))).toBe('stored');
    expect(await recordReceipt(deps(), receipt({ status: 'DELIVERED' }))).toBe('unchanged');
    expect(await recordReceipt(deps(), receipt({ status: 'READ' }))).toBe('unchanged');
    expect((await messages.get(messageId))?.status).toBe('READ');
  });

  it('throws a store error for the caller to retry, instead of answering', async () => {
    messages.updateStatus = async () => {
      throw new Error('store down');
    };
    await expect(recordReceipt(deps(), receipt())).rejects.toThrow('store down');
  });
});
