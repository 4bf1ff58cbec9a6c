import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChatbotStore } from '../ports/chatbot-store.ts';
import type { IdempotencyStore } from '../ports/idempotency-store.ts';
import type { MessageStore } from '../ports/message-store.ts';
import { CAP_RETRY_AFTER_SECONDS, type RateLimiter } from '../ports/rate-limiter.ts';
import type { SessionStore } from '../ports/session-store.ts';
import type { TenantStore } from '../ports/tenant-store.ts';
import { provisionTestAws, type TestAws } from '../testing/aws-test-env.ts';
import { aChatbot, aMessage, aSession } from '../testing/builders.ts';
import {
  InMemoryChatbotStore,
  InMemoryIdempotencyStore,
  InMemoryMessageStore,
  InMemoryRateLimiter,
  InMemorySessionStore,
  InMemoryTenantStore,
} from '../testing/in-memory-stores.ts';
import { DynamoChatbotStore } from './dynamodb-chatbot-store.ts';
import { DynamoIdempotencyStore } from './dynamodb-idempotency-store.ts';
import { DynamoMessageStore } from './dynamodb-message-store.ts';
import { DynamoRateLimiter } from './dynamodb-rate-limiter.ts';
import { DynamoSessionStore } from './dynamodb-session-store.ts';
import { DynamoTable } from './dynamodb-table.ts';
import { DynamoTenantStore } from './dynamodb-tenant-store.ts';

interface Stores {
  tenants: TenantStore;
  chatbots: ChatbotStore;
  sessions: SessionStore;
  messages: MessageStore;
  idempotency: IdempotencyStore;
  rateLimiter: RateLimiter;
  /** Two a UTC day, counted on an item of the Usage table (as the AI worker does). */
  dailyLimiter: RateLimiter;
  /** Two in all, counted on an item of the Sessions table (as init counts sessions). */
  cap: RateLimiter;
}

let aws: TestAws;
beforeAll(async () => {
  aws = await provisionTestAws();
});
afterAll(() => aws?.destroy());

const dynamoStores = (): Stores => {
  const table = (key: string) => new DynamoTable(aws.clients.dynamo, aws.env[key] as string);
  return {
    tenants: new DynamoTenantStore(table('TENANTS_TABLE')),
    chatbots: new DynamoChatbotStore(table('SESSIONS_TABLE')),
    sessions: new DynamoSessionStore(table('SESSIONS_TABLE')),
    messages: new DynamoMessageStore(table('MESSAGES_TABLE')),
    idempotency: new DynamoIdempotencyStore(table('REQUESTS_TABLE')),
    rateLimiter: new DynamoRateLimiter(table('REQUESTS_TABLE'), 3),
    dailyLimiter: new DynamoRateLimiter(table('USAGE_TABLE'), {
      limit: 2,
      windowSeconds: 86_400,
      key: (tenantId) => ({ pk: `TENANT#${tenantId}`, sk: 'LIMIT#test' }),
    }),
    cap: new DynamoRateLimiter(table('SESSIONS_TABLE'), {
      limit: 2,
      key: (tenantId) => ({ pk: `LIMIT#test#${tenantId}` }),
    }),
  };
};
const memoryStores = (): Stores => ({
  tenants: new InMemoryTenantStore(),
  chatbots: new InMemoryChatbotStore(),
  sessions: new InMemorySessionStore(),
  messages: new InMemoryMessageStore(),
  idempotency: new InMemoryIdempotencyStore(),
  rateLimiter: new InMemoryRateLimiter(3),
  dailyLimiter: new InMemoryRateLimiter({ limit: 2, windowSeconds: 86_400 }),
  cap: new InMemoryRateLimiter({ limit: 2 }),
});

const NOW = '2026-01-01T12:00:00.000Z';
const LATER = '2026-01-01T12:05:00.000Z';

describe.each([
  ['in-memory fakes', memoryStores],
  ['DynamoDB adapters on DynamoDB Local', dynamoStores],
])('store contract: %s', (_name, make) => {
  let s: Stores;
  beforeAll(() => {
    s = make();
  });

  describe('tenants', () => {
    // `null`: a key stored before keys had prefixes.
    const key = (
      tenantId: string,
      hash: string,
      createdAt = NOW,
      prefix: string | null = 'wqg_abcdefgh',
    ) => ({
      hash,
      tenantId,
      createdAt,
      ...(prefix !== null && { prefix }),
    });

    it('finds a tenant by the hash of its key, and no longer after revocation', async () => {
      const tenantId = `t-${Math.random()}`;
      await s.tenants.create({ tenantId, name: 'Acme', createdAt: NOW }, key(tenantId, `hash-${tenantId}`));
      expect(await s.tenants.findTenantIdByKeyHash(`hash-${tenantId}`)).toBe(tenantId);
      expect((await s.tenants.get(tenantId))?.name).toBe('Acme');
      await s.tenants.addApiKey(key(tenantId, `hash2-${tenantId}`));
      expect(await s.tenants.revokeApiKey(`hash-${tenantId}`)).toBe(true);
      expect(await s.tenants.findTenantIdByKeyHash(`hash-${tenantId}`)).toBeUndefined();
      expect(await s.tenants.findTenantIdByKeyHash(`hash2-${tenantId}`)).toBe(tenantId);
    });

    it('says when a revoked key did not exist', async () => {
      expect(await s.tenants.revokeApiKey(`never-${Math.random()}`)).toBe(false);
    });

    it('refuses to reuse a key hash', async () => {
      await s.tenants.addApiKey(key('t1', 'dup-hash'));
      await expect(s.tenants.addApiKey(key('t2', 'dup-hash'))).rejects.toThrow();
      expect(await s.tenants.findTenantIdByKeyHash('dup-hash')).toBe('t1');
    });

    it("lists tenants, and a tenant's keys as prefixes and dates only, oldest first", async () => {
      const tenantId = `t-${Math.random()}`;
      await s.tenants.create(
        { tenantId, name: 'Listed', createdAt: LATER },
        key(tenantId, `k1-${tenantId}`, LATER),
      );
      await s.tenants.addApiKey(key(tenantId, `k0-${tenantId}`, NOW, null));
      await s.tenants.addApiKey(key('someone-else', `k2-${tenantId}`));
      expect((await s.tenants.list()).find((t) => t.tenantId === tenantId)).toEqual({
        tenantId,
        name: 'Listed',
        createdAt: LATER,
      });
      const keys = await s.tenants.listApiKeys(tenantId);
      expect(keys).toEqual([
        { prefix: undefined, createdAt: NOW },
        { prefix: 'wqg_abcdefgh', createdAt: LATER },
      ]);
      expect(JSON.stringify(keys)).not.toContain('k1-');
    });

    it('disables and enables an existing tenant only', async () => {
      const tenantId = `t-${Math.random()}`;
      await s.tenants.create({ tenantId, name: 'D', createdAt: NOW }, key(tenantId, `d-${tenantId}`));
      expect(await s.tenants.setDisabled(tenantId, true, LATER)).toMatchObject({
        disabled: true,
        updatedAt: LATER,
      });
      expect((await s.tenants.get(tenantId))?.disabled).toBe(true);
      expect((await s.tenants.setDisabled(tenantId, false, LATER))?.disabled).toBe(false);
      expect(await s.tenants.setDisabled(`nobody-${Math.random()}`, true, LATER)).toBeUndefined();
      expect((await s.tenants.list()).some((t) => t.tenantId.startsWith('nobody-'))).toBe(false);
    });
  });

  describe('chatbots', () => {
    it('creates a missing chatbot once and keeps the first one', async () => {
      const first = await s.chatbots.createIfMissing(aChatbot({ chatbotId: 'c1', name: 'First' }));
      const second = await s.chatbots.createIfMissing(aChatbot({ chatbotId: 'c1', name: 'Second' }));
      expect(first.name).toBe('First');
      expect(second.name).toBe('First');
    });

    it('upserts only the given settings and keeps the rest', async () => {
      await s.chatbots.createIfMissing(aChatbot({ chatbotId: 'c2', systemPrompt: 'orig', aiEnabled: true }));
      const updated = await s.chatbots.upsert(
        aChatbot({ chatbotId: 'c2', systemPrompt: 'default' }),
        { aiEnabled: false },
        LATER,
      );
      expect(updated).toMatchObject({
        chatbotId: 'c2',
        aiEnabled: false,
        systemPrompt: 'orig',
        updatedAt: LATER,
        createdAt: NOW,
      });
      const created = await s.chatbots.upsert(aChatbot({ chatbotId: 'c3' }), { model: 'm1' }, LATER);
      expect(created).toMatchObject({ chatbotId: 'c3', model: 'm1', name: 'Bot', aiEnabled: true });
    });

    it('attaches only one session, and detaches only that one', async () => {
      await s.chatbots.createIfMissing(aChatbot({ chatbotId: 'c4' }));
      expect(await s.chatbots.attachSession('tenant-a', 'c4', 's1')).toBe(true);
      expect(await s.chatbots.attachSession('tenant-a', 'c4', 's2')).toBe(false);
      await s.chatbots.detachSession('tenant-a', 'c4', 's2');
      expect((await s.chatbots.get('tenant-a', 'c4'))?.sessionId).toBe('s1');
      await s.chatbots.detachSession('tenant-a', 'c4', 's1');
      expect((await s.chatbots.get('tenant-a', 'c4'))?.sessionId).toBeUndefined();
      expect(await s.chatbots.attachSession('tenant-a', 'missing', 's1')).toBe(false);
    });

    it("lists a tenant's chatbots newest first in pages, never another's, and refuses another list's cursor", async () => {
      const tenant = `t-list-${Math.random().toString(36).slice(2)}`;
      const at = (minute: number) => `2026-02-01T10:0${minute}:00.000Z`;
      for (const [i, id] of ['a', 'b', 'c'].entries()) {
        await s.chatbots.createIfMissing(aChatbot({ tenantId: tenant, chatbotId: id, createdAt: at(i) }));
      }
      // Created through upsert (PUT chatbots) joins the list too.
      await s.chatbots.upsert(aChatbot({ tenantId: tenant, chatbotId: 'd', createdAt: at(3) }), {}, at(3));
      await s.chatbots.createIfMissing(aChatbot({ tenantId: `${tenant}-other`, chatbotId: 'x' }));
      const first = await s.chatbots.list(tenant, { limit: 3 });
      expect(first.items.map((c) => c.chatbotId)).toEqual(['d', 'c', 'b']);
      expect(first.items[0]).not.toHaveProperty('gsi2pk');
      const second = await s.chatbots.list(tenant, { limit: 3, cursor: first.nextCursor });
      expect([second.items.map((c) => c.chatbotId), second.nextCursor]).toEqual([['a'], undefined]);
      await expect(
        s.chatbots.list(`${tenant}-other`, { limit: 3, cursor: first.nextCursor }),
      ).rejects.toMatchObject({ code: 'INVALID_CURSOR' });
    });

    it('deletes a chatbot only while no session is linked to it', async () => {
      await s.chatbots.createIfMissing(aChatbot({ chatbotId: 'c-del' }));
      await s.chatbots.attachSession('tenant-a', 'c-del', 's1');
      expect(await s.chatbots.delete('tenant-a', 'c-del')).toBe('has_session');
      expect(await s.chatbots.get('tenant-a', 'c-del')).toBeDefined();
      await s.chatbots.detachSession('tenant-a', 'c-del', 's1');
      expect(await s.chatbots.delete('tenant-a', 'c-del')).toBe('deleted');
      expect(await s.chatbots.get('tenant-a', 'c-del')).toBeUndefined();
      expect(await s.chatbots.delete('tenant-a', 'c-del')).toBe('missing');
    });
  });

  describe('sessions', () => {
    it("lists a tenant's sessions newest first in pages, never another's, and refuses another list's cursor", async () => {
      const tenant = `t-sessions-${Math.random().toString(36).slice(2)}`;
      const made = [];
      for (const minute of [0, 1, 2]) {
        const session = aSession({ tenantId: tenant, createdAt: `2026-02-01T10:0${minute}:00.000Z` });
        await s.sessions.create(session);
        made.push(session.sessionId);
      }
      await s.sessions.create(aSession({ tenantId: `${tenant}-other` }));
      const first = await s.sessions.listByTenant(tenant, { limit: 2 });
      expect(first.items.map((x) => x.sessionId)).toEqual([made[2], made[1]]);
      expect(first.items[0]).not.toHaveProperty('gsi2pk');
      const second = await s.sessions.listByTenant(tenant, { limit: 2, cursor: first.nextCursor });
      expect([second.items.map((x) => x.sessionId), second.nextCursor]).toEqual([[made[0]], undefined]);
      await expect(
        s.sessions.listByTenant(`${tenant}-other`, { limit: 2, cursor: first.nextCursor }),
      ).rejects.toMatchObject({ code: 'INVALID_CURSOR' });
      // The runner's listing per shard is unchanged by the tenant index.
      expect((await s.sessions.listByShard(0)).map((x) => x.sessionId)).toEqual(expect.arrayContaining(made));
    });

    it('lets any status become DELETING, and nothing leave it', async () => {
      const session = aSession({ status: 'CONNECTING' });
      await s.sessions.create(session);
      expect(await s.sessions.transition(session.sessionId, { to: 'DELETING', now: LATER })).toMatchObject({
        status: 'DELETING',
      });
      for (const to of ['CONNECTING', 'CONNECTED', 'DISCONNECTED', 'LOGGED_OUT', 'DELETING'] as const) {
        expect(await s.sessions.transition(session.sessionId, { to, fence: 99, now: LATER })).toBeUndefined();
      }
      expect((await s.sessions.get(session.sessionId))?.status).toBe('DELETING');
    });

    it('creates once and lists by shard', async () => {
      const session = aSession({ shard: 7 });
      expect(await s.sessions.create(session)).toBe(true);
      expect(await s.sessions.create(session)).toBe(false);
      expect(await s.sessions.get(session.sessionId)).toEqual(session);
      const listed = await s.sessions.listByShard(7);
      expect(listed.map((x) => x.sessionId)).toContain(session.sessionId);
      expect(await s.sessions.listByShard(8)).not.toContainEqual(
        expect.objectContaining({ sessionId: session.sessionId }),
      );
    });

    it('allows only transitions of the status machine', async () => {
      const session = aSession();
      await s.sessions.create(session);
      expect(await s.sessions.transition(session.sessionId, { to: 'CONNECTED', now: LATER })).toBeUndefined();
      const connecting = await s.sessions.transition(session.sessionId, { to: 'CONNECTING', now: LATER });
      expect(connecting).toMatchObject({ status: 'CONNECTING', updatedAt: LATER });
      const qr = await s.sessions.transition(session.sessionId, {
        to: 'QR_READY',
        fields: { qr: 'ref,abc', qrExpiresAt: LATER },
        now: LATER,
      });
      expect(qr).toMatchObject({ status: 'QR_READY', qr: 'ref,abc' });
      const connected = await s.sessions.transition(session.sessionId, {
        to: 'CONNECTED',
        fields: { qr: null, qrExpiresAt: null, phoneNumber: '4915112345678' },
        now: LATER,
      });
      expect(connected?.status).toBe('CONNECTED');
      expect(connected?.qr).toBeUndefined();
      expect(connected?.phoneNumber).toBe('4915112345678');
      expect(
        await s.sessions.transition('no-such-session', { to: 'CONNECTING', now: LATER }),
      ).toBeUndefined();
    });

    it('refuses writes carrying an older fence than the last one', async () => {
      const session = aSession();
      await s.sessions.create(session);
      expect(
        await s.sessions.transition(session.sessionId, { to: 'CONNECTING', fence: 5, now: LATER }),
      ).toBeDefined();
      expect(await s.sessions.touch(session.sessionId, 4, LATER)).toBe(false);
      expect(
        await s.sessions.transition(session.sessionId, { to: 'QR_READY', fence: 4, now: LATER }),
      ).toBeUndefined();
      expect(await s.sessions.touch(session.sessionId, 6, LATER)).toBe(true);
      expect(
        await s.sessions.transition(session.sessionId, { to: 'QR_READY', fence: 5, now: LATER }),
      ).toBeUndefined();
      expect((await s.sessions.get(session.sessionId))?.fence).toBe(6);
    });

    it('shows a session still CONNECTED or QR_READY as CONNECTING when a new owner stamps it reconnecting, in that stamp', async () => {
      const connected = aSession({ status: 'CONNECTED', fence: 1, connectedAt: NOW });
      const qr = aSession({
        status: 'QR_READY',
        fence: 1,
        qr: 'old-owner-qr',
        qrExpiresAt: LATER,
        pairingCode: 'ABCD1234',
      });
      const stopped = aSession({ status: 'DISCONNECTED', fence: 1, lastError: 'CONNECTION_REPLACED' });
      for (const session of [connected, qr, stopped]) await s.sessions.create(session);
      expect(await s.sessions.touch(connected.sessionId, 2, LATER, connected, true)).toBe(true);
      expect(await s.sessions.get(connected.sessionId)).toMatchObject({
        status: 'CONNECTING',
        fence: 2,
        runnerSeenAt: LATER,
        updatedAt: LATER,
        connectedAt: NOW,
      });
      // The previous owner's QR (and pairing code) went with its socket: not shown any more.
      expect(await s.sessions.touch(qr.sessionId, 2, LATER, qr, true)).toBe(true);
      const shown = await s.sessions.get(qr.sessionId);
      expect(shown).toMatchObject({ status: 'CONNECTING', fence: 2, runnerSeenAt: LATER, updatedAt: LATER });
      expect(shown?.qr).toBeUndefined();
      expect(shown?.qrExpiresAt).toBeUndefined();
      expect(shown?.pairingCode).toBeUndefined();
      // Neither CONNECTED nor QR_READY: only stamped, its status left as it is.
      expect(await s.sessions.touch(stopped.sessionId, 2, LATER, stopped, true)).toBe(true);
      expect(await s.sessions.get(stopped.sessionId)).toMatchObject({
        status: 'DISCONNECTED',
        lastError: 'CONNECTION_REPLACED',
        fence: 2,
      });
      // An older grant changes nothing.
      expect(await s.sessions.touch(connected.sessionId, 1, LATER, connected, true)).toBe(false);
      // A heartbeat never touches the status.
      await s.sessions.transition(connected.sessionId, { to: 'CONNECTED', fence: 2, now: LATER });
      expect(await s.sessions.touch(connected.sessionId, 2, LATER)).toBe(true);
      expect((await s.sessions.get(connected.sessionId))?.status).toBe('CONNECTED');
    });

    it('sets the desired state of existing sessions only', async () => {
      const session = aSession();
      await s.sessions.create(session);
      expect((await s.sessions.setDesiredState(session.sessionId, 'stopped', LATER))?.desiredState).toBe(
        'stopped',
      );
      expect(await s.sessions.setDesiredState('missing', 'stopped', LATER)).toBeUndefined();
      await s.sessions.delete(session.sessionId);
      expect(await s.sessions.get(session.sessionId)).toBeUndefined();
    });
  });

  describe('messages', () => {
    it('stores a message once and moves its status only forward', async () => {
      const message = aMessage();
      expect(await s.messages.putIfAbsent(message)).toBe(true);
      expect(await s.messages.putIfAbsent({ ...message, text: 'other' })).toBe(false);
      expect((await s.messages.get(message.messageId))?.text).toBe('hello');
      const sent = await s.messages.updateStatus(message.messageId, {
        status: 'SENT',
        waMessageId: 'WA1',
        now: LATER,
      });
      expect(sent).toMatchObject({ status: 'SENT', waMessageId: 'WA1' });
      expect(await s.messages.updateStatus(message.messageId, { status: 'READ', now: LATER })).toMatchObject({
        status: 'READ',
      });
      expect(
        await s.messages.updateStatus(message.messageId, { status: 'DELIVERED', now: LATER }),
      ).toBeUndefined();
      expect(
        await s.messages.updateStatus(message.messageId, { status: 'FAILED', error: 'x', now: LATER }),
      ).toBeUndefined();
      expect((await s.messages.get(message.messageId))?.status).toBe('READ');
    });

    it('fails a queued message with a reason, and never revives it', async () => {
      const message = aMessage();
      await s.messages.putIfAbsent(message);
      expect(
        await s.messages.updateStatus(message.messageId, {
          status: 'FAILED',
          error: 'NOT_ON_WHATSAPP',
          now: LATER,
        }),
      ).toMatchObject({
        status: 'FAILED',
        error: 'NOT_ON_WHATSAPP',
      });
      expect(
        await s.messages.updateStatus(message.messageId, { status: 'SENT', now: LATER }),
      ).toBeUndefined();
      await s.messages.delete(message.messageId);
      expect(await s.messages.get(message.messageId)).toBeUndefined();
    });

    it("records a sent file's size, sha256 and media message with SENT, fenced, keeping the rest", async () => {
      const media = { mediaId: 'f1', mimeType: 'application/pdf', fileName: 'a.pdf', size: 0, sha256: '' };
      const message = aMessage({ media });
      await s.messages.putIfAbsent(message);
      const sentMedia = { size: 1234, sha256: 'ab'.repeat(32), waMedia: 'CgRtZWRpYQ==' };
      expect(
        await s.messages.updateStatus(message.messageId, { status: 'SENT', fence: 1, sentMedia, now: LATER }),
      ).toMatchObject({ status: 'SENT', media: { ...media, size: 1234, sha256: 'ab'.repeat(32) } });
      expect(await s.messages.get(message.messageId)).toMatchObject({
        media: { ...media, size: 1234, sha256: 'ab'.repeat(32) },
        waMedia: 'CgRtZWRpYQ==',
      });
      // A message without a file takes no file facts (nothing is written).
      const plain = aMessage();
      await s.messages.putIfAbsent(plain);
      expect(
        await s.messages.updateStatus(plain.messageId, { status: 'SENT', sentMedia, now: LATER }),
      ).toBeUndefined();
      expect(await s.messages.get(plain.messageId)).toMatchObject({ status: 'QUEUED' });
      expect((await s.messages.get(plain.messageId))?.media).toBeUndefined();
    });

    it("records a sent file's facts after a receipt overtook SENT, fenced, for the session's own sent file only", async () => {
      const media = { mediaId: 'f2', mimeType: 'image/png', size: 0, sha256: '' };
      const message = aMessage({ media });
      await s.messages.putIfAbsent(message);
      const sentMedia = { size: 99, sha256: 'cd'.repeat(32), waMedia: 'CgRtZWRpYQ==' };
      const record = (overrides = {}) =>
        s.messages.recordSentMedia(message.messageId, {
          sentMedia,
          fence: 2,
          sessionId: message.sessionId,
          ...overrides,
        });
      expect(await record()).toBeUndefined(); // still QUEUED: not sent
      await s.messages.updateStatus(message.messageId, { status: 'DELIVERED', fence: 2, now: LATER });
      expect(await record({ fence: 1 })).toBeUndefined();
      expect(await record({ sessionId: 'other' })).toBeUndefined();
      expect((await s.messages.get(message.messageId))?.waMedia).toBeUndefined();
      expect(await record()).toMatchObject({
        status: 'DELIVERED',
        media: { ...media, size: 99, sha256: 'cd'.repeat(32) },
        waMedia: 'CgRtZWRpYQ==',
      });
      const plain = aMessage();
      await s.messages.putIfAbsent(plain);
      await s.messages.updateStatus(plain.messageId, { status: 'SENT', now: LATER });
      expect(
        await s.messages.recordSentMedia(plain.messageId, {
          sentMedia,
          fence: 2,
          sessionId: plain.sessionId,
        }),
      ).toBeUndefined();
    });

    const claimOf = (message: { sessionId: string; tenantId: string }, overrides = {}) => ({
      sessionId: message.sessionId,
      tenantId: message.tenantId,
      fence: 3,
      runnerId: 'runner-a',
      waMessageId: `3EB0${Math.random().toString(16).slice(2, 12).toUpperCase()}`,
      now: NOW,
      staleBefore: '2026-01-01T11:58:00.000Z',
      ...overrides,
    });

    it('claims a queued send once: a second claim with the same fence is busy until the first is given back', async () => {
      const message = aMessage();
      await s.messages.putIfAbsent(message);
      const claim = claimOf(message);
      expect(await s.messages.claimSend(message.messageId, claim)).toMatchObject({
        kind: 'claimed',
        message: { messageId: message.messageId, status: 'QUEUED', waMessageId: claim.waMessageId },
      });
      expect(await s.messages.claimSend(message.messageId, { ...claim, runnerId: 'runner-b' })).toEqual({
        kind: 'busy',
      });
      // The claim is bookkeeping, not part of the message the API shows.
      expect(Object.keys((await s.messages.get(message.messageId)) ?? {}).sort()).toEqual(
        Object.keys({ ...message, waMessageId: 'x' }).sort(),
      );
      await s.messages.releaseSend(message.messageId, { fence: 3, runnerId: 'runner-b' }); // not the holder
      expect((await s.messages.claimSend(message.messageId, claim)).kind).toBe('busy');
      await s.messages.releaseSend(message.messageId, { fence: 3, runnerId: 'runner-a' });
      expect((await s.messages.claimSend(message.messageId, claim)).kind).toBe('claimed');
    });

    it('lets a newer fence or a stale claim take a send over, never an older fence', async () => {
      const message = aMessage();
      await s.messages.putIfAbsent(message);
      const claim = claimOf(message);
      expect((await s.messages.claimSend(message.messageId, claim)).kind).toBe('claimed');
      // Same fence, claim older than the bound: the holder crashed mid-send.
      const stale = { ...claim, runnerId: 'runner-b', now: LATER, staleBefore: '2026-01-01T12:01:00.000Z' };
      expect((await s.messages.claimSend(message.messageId, stale)).kind).toBe('claimed');
      expect((await s.messages.claimSend(message.messageId, { ...claim, fence: 4 })).kind).toBe('claimed');
      expect(
        (
          await s.messages.claimSend(message.messageId, {
            ...claim,
            fence: 3,
            now: LATER,
            staleBefore: LATER,
          })
        ).kind,
      ).toBe('busy');
      // The zombie with fence 3 cannot record an outcome any more; the owner with fence 4 can.
      expect(
        await s.messages.updateStatus(message.messageId, { status: 'SENT', fence: 3, now: LATER }),
      ).toBeUndefined();
      expect(
        await s.messages.updateStatus(message.messageId, { status: 'SENT', fence: 4, now: LATER }),
      ).toMatchObject({ status: 'SENT' });
      expect(await s.messages.claimSend(message.messageId, { ...claim, fence: 5 })).toMatchObject({
        kind: 'final',
        message: { status: 'SENT' },
      });
      expect(
        await s.messages.updateStatus(message.messageId, { status: 'READ', fence: 3, now: LATER }),
      ).toBeUndefined();
      expect(
        await s.messages.updateStatus(message.messageId, { status: 'READ', fence: 5, now: LATER }),
      ).toMatchObject({ status: 'READ' });
    });

    it("refuses to claim or update another session's or tenant's message", async () => {
      const message = aMessage();
      await s.messages.putIfAbsent(message);
      const claim = claimOf(message);
      expect(await s.messages.claimSend(message.messageId, { ...claim, sessionId: 'other' })).toEqual({
        kind: 'foreign',
      });
      expect(await s.messages.claimSend(message.messageId, { ...claim, tenantId: 'other' })).toEqual({
        kind: 'foreign',
      });
      expect(await s.messages.claimSend('no-such-message', claim)).toEqual({ kind: 'foreign' });
      expect(
        await s.messages.updateStatus(message.messageId, { status: 'SENT', sessionId: 'other', now: LATER }),
      ).toBeUndefined();
      expect((await s.messages.get(message.messageId))?.status).toBe('QUEUED');
    });

    it('finds a claimed send by its WhatsApp id within its session only', async () => {
      const message = aMessage();
      await s.messages.putIfAbsent(message);
      const claim = claimOf(message);
      await s.messages.claimSend(message.messageId, claim);
      expect(await s.messages.findByWaMessageId(message.sessionId, claim.waMessageId)).toMatchObject({
        messageId: message.messageId,
        text: 'hello',
      });
      expect(await s.messages.findByWaMessageId('other-session', claim.waMessageId)).toBeUndefined();
      expect(await s.messages.findByWaMessageId(message.sessionId, '3EB0UNKNOWN')).toBeUndefined();
    });

    it("finds a send's messageId by the session and WhatsApp id, and nothing for another session or id", async () => {
      const message = aMessage({ text: 'receipt' });
      await s.messages.putIfAbsent(message);
      const claim = claimOf(message);
      await s.messages.claimSend(message.messageId, claim);
      expect(await s.messages.findIdByWaMessageId(message.sessionId, claim.waMessageId)).toBe(
        message.messageId,
      );
      expect(await s.messages.findIdByWaMessageId('other-session', claim.waMessageId)).toBeUndefined();
      expect(await s.messages.findIdByWaMessageId(message.sessionId, '3EB0UNKNOWN')).toBeUndefined();
    });

    it('lists the messages of a conversation by time, in pages, either way, and refuses a forged cursor', async () => {
      const conversationId = `conv-${Math.random()}`;
      const at = (minute: number) => `2026-01-01T12:0${minute}:00.000Z`;
      for (const minute of [3, 1, 2]) {
        await s.messages.putIfAbsent(aMessage({ conversationId, createdAt: at(minute), text: `m${minute}` }));
      }
      const other = `${conversationId}-other`;
      for (const minute of [0, 1])
        await s.messages.putIfAbsent(aMessage({ conversationId: other, createdAt: at(minute) }));
      const first = await s.messages.listByConversation(conversationId, { limit: 2 });
      expect(first.items.map((m) => m.text)).toEqual(['m1', 'm2']);
      expect(first.nextCursor).toEqual(expect.any(String));
      const second = await s.messages.listByConversation(conversationId, {
        limit: 2,
        cursor: first.nextCursor,
      });
      expect(second).toEqual({ items: [expect.objectContaining({ text: 'm3', conversationId })] });
      const newest = await s.messages.listByConversation(conversationId, { limit: 2, newestFirst: true });
      expect(newest.items.map((m) => m.text)).toEqual(['m3', 'm2']);
      // Keys shaped like this listing's, forged: a sort key over DynamoDB's 1024 bytes (a 500 once),
      // a sort key naming another item than the pk, a pk of another kind, and a far too long cursor.
      const key = (gsi1sk: string, pk = `MESSAGE#${first.items[0]?.messageId}`) =>
        Buffer.from(JSON.stringify({ pk, gsi1pk: `CONV#${conversationId}`, gsi1sk })).toString('base64url');
      const forged = [
        'nope!',
        Buffer.from('{"pk":"x"}').toString('base64url'),
        key(`${at(1)}#${'a'.repeat(1100)}`),
        key(`${at(1)}#00000000-0000-4000-8000-000000000000`),
        key(`${at(1)}#${first.items[0]?.messageId}`, `SESSION#${first.items[0]?.messageId}`),
        key(`${'9'.repeat(600)}#${first.items[0]?.messageId}`),
        'A'.repeat(5000),
      ];
      for (const cursor of forged) {
        await expect(
          s.messages.listByConversation(conversationId, { limit: 2, cursor }),
        ).rejects.toMatchObject({
          code: 'INVALID_CURSOR',
          details: [{ path: 'query.cursor', message: expect.any(String) }],
        });
      }
      // A real cursor of another conversation's list is not one of this list.
      const foreign = (await s.messages.listByConversation(other, { limit: 1 })).nextCursor;
      expect(foreign).toEqual(expect.any(String));
      await expect(
        s.messages.listByConversation(conversationId, { limit: 2, cursor: foreign }),
      ).rejects.toMatchObject({ code: 'INVALID_CURSOR' });
    });
  });

  describe('idempotency records', () => {
    const record = (key: string, expiresAt: string) => ({
      tenantId: 'tenant-a',
      key,
      fingerprint: 'f',
      messageId: 'm',
      createdAt: NOW,
      expiresAt,
    });

    it('claims a key once while it lives, and again once it expired or was released', async () => {
      const now = new Date(NOW);
      expect(await s.idempotency.claim(record('k1', LATER), now)).toBe(true);
      expect(await s.idempotency.claim(record('k1', LATER), now)).toBe(false);
      expect(await s.idempotency.get('tenant-a', 'k1', now)).toMatchObject({ messageId: 'm' });
      expect(await s.idempotency.get('tenant-b', 'k1', now)).toBeUndefined();
      const afterExpiry = new Date('2026-01-01T12:06:00.000Z');
      expect(await s.idempotency.get('tenant-a', 'k1', afterExpiry)).toBeUndefined();
      expect(await s.idempotency.claim(record('k1', '2026-01-02T12:00:00.000Z'), afterExpiry)).toBe(true);
      await s.idempotency.release('tenant-a', 'k1');
      expect(await s.idempotency.claim(record('k1', LATER), now)).toBe(true);
    });
  });

  describe('rate limiter', () => {
    it('passes the limit per tenant per minute, then asks to retry at the next window', async () => {
      const now = new Date('2026-01-01T12:00:45.000Z');
      const tenant = `rl-${Math.random()}`;
      for (let i = 0; i < 3; i++) expect((await s.rateLimiter.consume(tenant, now)).allowed).toBe(true);
      expect(await s.rateLimiter.consume(tenant, now)).toEqual({ allowed: false, retryAfterSeconds: 15 });
      expect((await s.rateLimiter.consume(`${tenant}-other`, now)).allowed).toBe(true);
      expect((await s.rateLimiter.consume(tenant, new Date('2026-01-01T12:01:00.000Z'))).allowed).toBe(true);
    });

    it('counts concurrent first uses exactly: no more than the limit passes, and none below it fails', async () => {
      const now = new Date('2026-01-01T12:00:10.000Z');
      const tenant = `rl-${Math.random()}`;
      const decisions = await Promise.all(
        Array.from({ length: 8 }, () => s.rateLimiter.consume(tenant, now)),
      );
      expect(decisions.filter((d) => d.allowed)).toHaveLength(3);
    });

    it('limits per UTC day, gives a use back on release, and starts again the next day', async () => {
      const evening = new Date('2026-01-01T23:00:00.000Z');
      const tenant = `day-${Math.random()}`;
      expect((await s.dailyLimiter.consume(tenant, evening)).allowed).toBe(true);
      expect((await s.dailyLimiter.consume(tenant, evening)).allowed).toBe(true);
      expect(await s.dailyLimiter.consume(tenant, evening)).toEqual({
        allowed: false,
        retryAfterSeconds: 3600,
      });
      await s.dailyLimiter.release(tenant, evening);
      expect((await s.dailyLimiter.consume(tenant, evening)).allowed).toBe(true);
      expect((await s.dailyLimiter.consume(tenant, evening)).allowed).toBe(false);
      expect((await s.dailyLimiter.consume(tenant, new Date('2026-01-02T00:00:01.000Z'))).allowed).toBe(true);
    });

    it('caps a total with no window: freed only by release, never below zero', async () => {
      const tenant = `cap-${Math.random()}`;
      const now = new Date(NOW);
      expect((await s.cap.consume(tenant, now)).allowed).toBe(true);
      expect((await s.cap.consume(tenant, now)).allowed).toBe(true);
      expect(await s.cap.consume(tenant, new Date('2027-06-01T00:00:00.000Z'))).toEqual({
        allowed: false,
        retryAfterSeconds: CAP_RETRY_AFTER_SECONDS,
      });
      for (let i = 0; i < 3; i++) await s.cap.release(tenant, now);
      const after = await Promise.all([1, 2, 3].map(() => s.cap.consume(tenant, now)));
      expect(after.map((d) => d.allowed).sort()).toEqual([false, true, true]);
    });
  });
});

describe('DynamoDB session store: sessions stored before the per-tenant listing', () => {
  it("join a tenant's listing when a runner stamps them at takeover (touch with the record), never otherwise", async () => {
    const table = new DynamoTable(aws.clients.dynamo, aws.env.SESSIONS_TABLE as string);
    const store = new DynamoSessionStore(table);
    const tenantId = `t-legacy-${Math.random().toString(36).slice(2)}`;
    const old = aSession({ tenantId });
    // As create() wrote it before gsi2 existed: listed per shard only.
    await table.put({
      pk: `SESSION#${old.sessionId}`,
      gsi1pk: 'SHARD#0',
      gsi1sk: old.sessionId,
      ...old,
    });
    expect((await store.listByTenant(tenantId, { limit: 10 })).items).toEqual([]);
    await store.touch(old.sessionId, 1, LATER); // a heartbeat: no listing keys
    expect((await store.listByTenant(tenantId, { limit: 10 })).items).toEqual([]);
    expect(await store.touch(old.sessionId, 2, LATER, old)).toBe(true);
    expect((await store.listByTenant(tenantId, { limit: 10 })).items.map((s) => s.sessionId)).toEqual([
      old.sessionId,
    ]);
    expect(await store.get(old.sessionId)).toEqual({ ...old, fence: 2, runnerSeenAt: LATER });
  });
});
