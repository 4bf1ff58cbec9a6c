import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalApi, startLocalApi } from '#local/api-gateway.ts';
import { DynamoConversationStore } from '#shared/adapters/dynamodb-conversation-store.ts';
import { DynamoTable } from '#shared/adapters/dynamodb-table.ts';
import { DynamoTenantStore } from '#shared/adapters/dynamodb-tenant-store.ts';
import { DynamoUsageStore } from '#shared/adapters/dynamodb-usage-store.ts';
import { deriveId } from '#shared/domain/ids.ts';
import { systemClock } from '#shared/ports/clock.ts';
import { provisionTestAws, type TestAws } from '#shared/testing/aws-test-env.ts';
import { aMessage } from '#shared/testing/builders.ts';
import { createTenant } from '#shared/use-cases/tenants.ts';

// The read API over real HTTP: local API gateway → authorizer → middy handlers → DynamoDB Local.

let aws: TestAws;
let api: LocalApi;
let keyA: string;
let keyB: string;
let tenantA: string;
let sessionId: string;
const conversationIds: string[] = [];

const call = async (path: string, key: string | null = keyA) => {
  const response = await fetch(`${api.url}${path}`, {
    headers: key ? { authorization: `Bearer ${key}` } : {},
  });
  // biome-ignore lint/suspicious/noExplicitAny: test assertions walk arbitrary JSON
  return { status: response.status, body: (await response.json()) as any };
};

beforeAll(async () => {
  aws = await provisionTestAws();
  Object.assign(process.env, aws.env, { POWERTOOLS_LOG_LEVEL: 'SILENT' });
  api = await startLocalApi({ port: 0 });
  const tenants = new DynamoTenantStore(new DynamoTable(aws.clients.dynamo, aws.env.TENANTS_TABLE as string));
  const a = await createTenant({ tenants, clock: systemClock }, 'Tenant A');
  keyA = a.apiKey;
  tenantA = a.tenant.tenantId;
  keyB = (await createTenant({ tenants, clock: systemClock }, 'Tenant B')).apiKey;

  const init = await fetch(`${api.url}/whatsapp-qr/init`, {
    method: 'POST',
    headers: { authorization: `Bearer ${keyA}`, 'content-type': 'application/json' },
    body: JSON.stringify({ chatbotId: 'reader-bot' }),
  });
  sessionId = ((await init.json()) as { sessionId: string }).sessionId;

  // Three conversations (peer 2 most recent), the first with an inbound message and a reply.
  const conversations = new DynamoConversationStore(aws.clients.dynamo, {
    messages: aws.env.MESSAGES_TABLE as string,
    usage: aws.env.USAGE_TABLE as string,
  });
  const at = (minute: number) => `2026-02-01T09:0${minute}:00.000Z`;
  const append = async (peer: string, direction: 'in' | 'out', minute: number) => {
    const conversationId = deriveId('conv', sessionId, peer);
    if (!conversationIds.includes(conversationId)) conversationIds.push(conversationId);
    await conversations.appendMessage({
      message: aMessage({
        tenantId: tenantA,
        sessionId,
        conversationId,
        direction,
        to: direction === 'in' ? '4915100000001@s.whatsapp.net' : peer,
        ...(direction === 'in' && { from: peer }),
        status: direction === 'in' ? 'DELIVERED' : 'QUEUED',
        text: `${direction} ${minute}`,
        createdAt: at(minute),
      }),
      peer,
      usage:
        direction === 'in' ? { messagesIn: 1 } : { messagesOut: 1, aiInputTokens: 40, aiOutputTokens: 9 },
      now: at(minute),
    });
  };
  await append('4915100000011@s.whatsapp.net', 'in', 1);
  await append('4915100000011@s.whatsapp.net', 'out', 2);
  await append('4915100000012@s.whatsapp.net', 'in', 5);
  await append('4915100000013@s.whatsapp.net', 'in', 3);
  await new DynamoUsageStore(new DynamoTable(aws.clients.dynamo, aws.env.USAGE_TABLE as string)).add(
    tenantA,
    '2026-02-03',
    { messagesIn: 7 },
  );
});
afterAll(async () => {
  await api?.close();
  aws?.destroy();
});

describe('GET /whatsapp-qr/conversations', () => {
  it("lists the session's conversations by last activity, a page at a time", async () => {
    const first = await call(`/whatsapp-qr/conversations?sessionId=${sessionId}&limit=2`);
    expect(first.status).toBe(200);
    expect(first.body.items).toEqual([
      {
        conversationId: conversationIds[1],
        sessionId,
        peer: '4915100000012@s.whatsapp.net',
        lastMessageAt: '2026-02-01T09:05:00.000Z',
        lastMessageText: 'in 5',
        messageCount: 1,
        unreadCount: 1,
      },
      expect.objectContaining({ conversationId: conversationIds[2] }),
    ]);
    const cursor = encodeURIComponent(first.body.nextCursor);
    const second = await call(`/whatsapp-qr/conversations?sessionId=${sessionId}&limit=2&cursor=${cursor}`);
    expect(second.body).toEqual({
      items: [
        expect.objectContaining({ conversationId: conversationIds[0], messageCount: 2, unreadCount: 0 }),
      ],
    });
  });

  it("answers 404 for another tenant's session and 400 for bad input, every field listed", async () => {
    const foreign = await call(`/whatsapp-qr/conversations?sessionId=${sessionId}`, keyB);
    expect(foreign.status).toBe(404);
    expect(foreign.body.error.code).toBe('SESSION_NOT_FOUND');
    const bad = await call('/whatsapp-qr/conversations?sessionId=nope&limit=500');
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.map((d: { path: string }) => d.path).sort()).toEqual([
      'query.limit',
      'query.sessionId',
    ]);
    const cursor = await call(`/whatsapp-qr/conversations?sessionId=${sessionId}&cursor=forged`);
    expect(cursor.status).toBe(400);
    expect(cursor.body.error).toMatchObject({
      code: 'INVALID_CURSOR',
      details: [{ path: 'query.cursor' }],
    });
    expect((await call(`/whatsapp-qr/conversations?sessionId=${sessionId}`, null)).status).toBe(401);
  });
});

describe('GET /whatsapp-qr/conversations/{conversationId}/messages', () => {
  it('lists the messages of a conversation by time, paged', async () => {
    const path = `/whatsapp-qr/conversations/${conversationIds[0]}/messages`;
    const first = await call(`${path}?limit=1`);
    expect(first.status).toBe(200);
    expect(first.body.items).toEqual([
      {
        messageId: expect.any(String),
        direction: 'in',
        from: '4915100000011@s.whatsapp.net',
        to: '4915100000001@s.whatsapp.net',
        text: 'in 1',
        status: 'DELIVERED',
        createdAt: '2026-02-01T09:01:00.000Z',
      },
    ]);
    const second = await call(`${path}?limit=1&cursor=${encodeURIComponent(first.body.nextCursor)}`);
    expect(second.body).toEqual({ items: [expect.objectContaining({ direction: 'out', text: 'out 2' })] });
  });

  it("answers 404 for another tenant's or an unknown conversation, and 400 for a forged cursor", async () => {
    const path = `/whatsapp-qr/conversations/${conversationIds[0]}/messages`;
    const foreign = await call(path, keyB);
    expect(foreign.status).toBe(404);
    expect(foreign.body.error.code).toBe('CONVERSATION_NOT_FOUND');
    expect((await call('/whatsapp-qr/conversations/unknown/messages')).body.error.code).toBe(
      'CONVERSATION_NOT_FOUND',
    );
    const other = await call(`/whatsapp-qr/conversations/${conversationIds[1]}/messages?limit=1`);
    const forged = Buffer.from(
      JSON.stringify({ pk: 'MESSAGE#x', gsi1pk: 'CONV#other', gsi1sk: 'x' }),
    ).toString('base64url');
    for (const cursor of [forged, 'AAAA']) {
      const res = await call(`${path}?cursor=${cursor}`);
      expect(res.status).toBe(400);
      expect(res.body.error.details).toEqual([{ path: 'query.cursor', message: expect.any(String) }]);
    }
    expect(other.body.nextCursor).toBeUndefined();
  });
});

describe('GET /whatsapp-qr/usage', () => {
  it("lists the tenant's usage for every day of the range", async () => {
    const res = await call('/whatsapp-qr/usage?from=2026-01-31&to=2026-02-03');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      days: [
        { date: '2026-01-31', messagesIn: 0, messagesOut: 0, aiInputTokens: 0, aiOutputTokens: 0 },
        { date: '2026-02-01', messagesIn: 3, messagesOut: 1, aiInputTokens: 40, aiOutputTokens: 9 },
        { date: '2026-02-02', messagesIn: 0, messagesOut: 0, aiInputTokens: 0, aiOutputTokens: 0 },
        { date: '2026-02-03', messagesIn: 7, messagesOut: 0, aiInputTokens: 0, aiOutputTokens: 0 },
      ],
    });
    const other = await call('/whatsapp-qr/usage?from=2026-02-01&to=2026-02-01', keyB);
    expect(other.body.days[0]).toMatchObject({ messagesIn: 0, messagesOut: 0 });
  });

  it('answers 400 for a missing or malformed date, a reversed range and one over 366 days', async () => {
    const missing = await call('/whatsapp-qr/usage?from=2026-13-01');
    expect(missing.status).toBe(400);
    expect(missing.body.error.details.map((d: { path: string }) => d.path).sort()).toEqual([
      'query.from',
      'query.to',
    ]);
    const reversed = await call('/whatsapp-qr/usage?from=2026-02-02&to=2026-02-01');
    expect(reversed.status).toBe(400);
    expect(reversed.body.error.details).toEqual([{ path: 'query.from', message: expect.any(String) }]);
    expect((await call('/whatsapp-qr/usage?from=2025-01-01&to=2026-01-02')).status).toBe(400);
  });
});

describe('OpenAPI', () => {
  it('documents the read routes with their query parameters', async () => {
    const doc = (await call('/whatsapp-qr/openapi.json')).body;
    const names = (path: string) =>
      doc.paths[path].get.parameters.map((p: { name: string; in: string }) => `${p.in}:${p.name}`);
    expect(names('/whatsapp-qr/conversations')).toEqual(['query:sessionId', 'query:cursor', 'query:limit']);
    expect(names('/whatsapp-qr/conversations/{conversationId}/messages')).toEqual([
      'path:conversationId',
      'query:cursor',
      'query:limit',
    ]);
    expect(names('/whatsapp-qr/usage')).toEqual(['query:from', 'query:to']);
    expect(doc.paths['/whatsapp-qr/usage'].get.responses['200']).toBeDefined();
  });
});
