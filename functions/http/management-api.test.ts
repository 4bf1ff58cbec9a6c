import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalApi, startLocalApi } from '#local/api-gateway.ts';
import { DynamoLeaseStore } from '#shared/adapters/dynamodb-lease-store.ts';
import { DynamoSessionStore } from '#shared/adapters/dynamodb-session-store.ts';
import { DynamoTable } from '#shared/adapters/dynamodb-table.ts';
import { DynamoTenantStore } from '#shared/adapters/dynamodb-tenant-store.ts';
import { systemClock } from '#shared/ports/clock.ts';
import { provisionTestAws, type TestAws } from '#shared/testing/aws-test-env.ts';
import { drainQueue } from '#shared/testing/sqs-drain.ts';
import { createTenant } from '#shared/use-cases/tenants.ts';

// Managing sessions and chatbots over real HTTP: local API gateway → authorizer → middy handlers
// → DynamoDB Local and the SQS stand-in. The tests play the runner where a status must change.

let aws: TestAws;
let api: LocalApi;
let keyA: string;
let keyB: string;
let sessions: DynamoSessionStore;

beforeAll(async () => {
  aws = await provisionTestAws();
  Object.assign(process.env, aws.env, {
    INIT_RATE_PER_MINUTE: '1000',
    SESSIONS_PER_TENANT: '1000',
    POWERTOOLS_LOG_LEVEL: 'ERROR',
  });
  api = await startLocalApi({ port: 0 });
  const tenants = new DynamoTenantStore(new DynamoTable(aws.clients.dynamo, aws.env.TENANTS_TABLE as string));
  keyA = (await createTenant({ tenants, clock: systemClock }, 'Tenant A')).apiKey;
  keyB = (await createTenant({ tenants, clock: systemClock }, 'Tenant B')).apiKey;
  sessions = new DynamoSessionStore(new DynamoTable(aws.clients.dynamo, aws.env.SESSIONS_TABLE as string));
  const leases = new DynamoLeaseStore(new DynamoTable(aws.clients.dynamo, aws.env.LEASES_TABLE as string));
  await leases.acquire(0, 'test-runner', Date.now(), 3_600_000);
});
afterAll(async () => {
  await api?.close();
  aws?.destroy();
});

const call = async (method: string, path: string, options: { key?: string; body?: unknown } = {}) => {
  const response = await fetch(`${api.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${options.key ?? keyA}`,
      ...(options.body !== undefined && { 'content-type': 'application/json' }),
    },
    ...(options.body !== undefined && { body: JSON.stringify(options.body) }),
  });
  const text = await response.text();
  // biome-ignore lint/suspicious/noExplicitAny: test assertions walk arbitrary JSON
  const body: any = text ? JSON.parse(text) : undefined;
  return { status: response.status, body };
};
const init = async (chatbotId: string, key = keyA) =>
  (await call('POST', '/whatsapp-qr/init', { key, body: { chatbotId } })).body;
const commands = () => drainQueue(aws.clients.sqs, aws.env.COMMAND_QUEUE_URLS?.split(',')[0]);

describe('GET /whatsapp-qr/sessions', () => {
  it("lists the caller's sessions only, newest first, in pages", async () => {
    const made = [];
    for (const bot of ['list-1', 'list-2', 'list-3']) made.push((await init(bot)).sessionId);
    const foreign = (await init('list-foreign', keyB)).sessionId;
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const query = cursor ? `?limit=2&cursor=${cursor}` : '?limit=2';
      const page = await call('GET', `/whatsapp-qr/sessions${query}`);
      expect(page.status).toBe(200);
      expect(page.body.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.items.map((s: { sessionId: string }) => s.sessionId));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual(expect.arrayContaining(made));
    expect(seen).not.toContain(foreign);
    expect(seen.indexOf(made[2])).toBeLessThan(seen.indexOf(made[0]));
  });

  it('filters by chatbot and by the status the tenant sees (after the runner-liveness check)', async () => {
    const idle = (await init('filter-idle')).sessionId;
    const live = (await init('filter-live')).sessionId;
    const now = new Date().toISOString();
    await sessions.transition(live, { to: 'CONNECTED', fields: { connectedAt: now }, now });
    // Stored CONNECTED by a runner whose lease is gone (fence 99 is not the live lease's): shown CONNECTING.
    const orphan = (await init('filter-orphan')).sessionId;
    await sessions.transition(orphan, { to: 'CONNECTED', fence: 99, now });

    const connected = await call('GET', '/whatsapp-qr/sessions?status=CONNECTED&limit=100');
    const ids = connected.body.items.map((s: { sessionId: string }) => s.sessionId);
    expect(ids).toContain(live);
    expect(ids).not.toContain(orphan);
    expect(connected.body.items.every((s: { status: string }) => s.status === 'CONNECTED')).toBe(true);

    const byBot = await call('GET', '/whatsapp-qr/sessions?chatbotId=filter-orphan');
    expect(byBot.body.items).toEqual([
      expect.objectContaining({ sessionId: orphan, status: 'CONNECTING', lastError: 'RUNNER_UNAVAILABLE' }),
    ]);
    expect((await call('GET', '/whatsapp-qr/sessions?chatbotId=filter-idle')).body.items[0].sessionId).toBe(
      idle,
    );
  });

  it('answers 400 for a bad filter, limit or cursor, and for another tenant cursor', async () => {
    const bad = await call('GET', '/whatsapp-qr/sessions?status=ASLEEP&limit=0');
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.map((d: { path: string }) => d.path).sort()).toEqual([
      'query.limit',
      'query.status',
    ]);
    await init('cursor-b1', keyB);
    await init('cursor-b2', keyB);
    const foreign = await call('GET', '/whatsapp-qr/sessions?limit=1', { key: keyB });
    expect(foreign.body.nextCursor).toBeDefined();
    const reused = await call('GET', `/whatsapp-qr/sessions?cursor=${foreign.body.nextCursor}`);
    expect([reused.status, reused.body.error.code]).toEqual([400, 'INVALID_CURSOR']);
  });
});

describe('DELETE /whatsapp-qr/sessions/{sessionId}', () => {
  it('answers 202 DELETING, enqueues a delete, frees the chatbot, and then hides the session', async () => {
    const { sessionId } = await init('doomed');
    await commands();
    const res = await call('DELETE', `/whatsapp-qr/sessions/${sessionId}?purge=true`);
    expect([res.status, res.body]).toEqual([202, { sessionId, status: 'DELETING' }]);
    expect(await commands()).toEqual([
      expect.objectContaining({ type: 'delete', sessionId, purge: true, group: sessionId }),
    ]);
    for (const [method, path, body] of [
      ['GET', `/whatsapp-qr/status/${sessionId}`],
      ['GET', `/whatsapp-qr/qr-code/${sessionId}`],
      ['GET', `/whatsapp-qr/conversations?sessionId=${sessionId}`],
      ['POST', '/whatsapp-qr/send', { sessionId, to: '+4915100000002', message: 'hi' }],
      ['POST', '/whatsapp-qr/disconnect', { sessionId }],
    ] as const) {
      const answer = await call(method, path, { body });
      expect([answer.status, answer.body.error.code], `${method} ${path}`).toEqual([
        404,
        'SESSION_NOT_FOUND',
      ]);
    }
    // The listing shows it DELETING until the runner has deleted it.
    const listed = await call('GET', '/whatsapp-qr/sessions?status=DELETING&chatbotId=doomed');
    expect(listed.body.items.map((s: { sessionId: string }) => s.sessionId)).toEqual([sessionId]);
    // The chatbot is free: a later init makes a new session.
    expect((await call('GET', '/whatsapp-qr/chatbots/doomed')).body.sessionId).toBeUndefined();
    const again = await call('POST', '/whatsapp-qr/init', { body: { chatbotId: 'doomed' } });
    expect(again.status).toBe(201);
    expect(again.body.sessionId).not.toBe(sessionId);
  });

  it('enqueues the delete again when asked again while DELETING (no purge by default), and 404 once gone', async () => {
    const { sessionId } = await init('doomed-twice');
    await call('DELETE', `/whatsapp-qr/sessions/${sessionId}`);
    await commands();
    expect((await call('DELETE', `/whatsapp-qr/sessions/${sessionId}`)).status).toBe(202);
    expect(await commands()).toEqual([expect.objectContaining({ type: 'delete', sessionId, purge: false })]);
    await sessions.delete(sessionId); // what the runner does last
    expect((await call('DELETE', `/whatsapp-qr/sessions/${sessionId}`)).status).toBe(404);
  });

  it("answers 404 for another tenant's session and 400 for a malformed id or purge flag", async () => {
    const { sessionId } = await init('kept', keyB);
    const foreign = await call('DELETE', `/whatsapp-qr/sessions/${sessionId}`);
    expect([foreign.status, foreign.body.error.code]).toEqual([404, 'SESSION_NOT_FOUND']);
    expect((await call('GET', `/whatsapp-qr/status/${sessionId}`, { key: keyB })).body.status).not.toBe(
      'DELETING',
    );
    expect((await call('DELETE', '/whatsapp-qr/sessions/not-a-uuid')).status).toBe(400);
    const badPurge = await call('DELETE', `/whatsapp-qr/sessions/${sessionId}?purge=yes`);
    expect([badPurge.status, badPurge.body.error.details[0].path]).toEqual([400, 'query.purge']);
  });
});

describe('chatbots', () => {
  it("lists the caller's chatbots in pages and shows one; another tenant's is 404", async () => {
    for (const id of ['cb-1', 'cb-2', 'cb-3']) {
      await call('PUT', `/whatsapp-qr/chatbots/${id}`, { body: { name: `Bot ${id}` } });
    }
    await call('PUT', '/whatsapp-qr/chatbots/cb-foreign', { key: keyB, body: {} });
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await call('GET', `/whatsapp-qr/chatbots?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.status).toBe(200);
      seen.push(...page.body.items.map((c: { chatbotId: string }) => c.chatbotId));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual(expect.arrayContaining(['cb-1', 'cb-2', 'cb-3']));
    expect(seen).not.toContain('cb-foreign');
    const one = await call('GET', '/whatsapp-qr/chatbots/cb-2');
    expect([one.status, one.body.name]).toEqual([200, 'Bot cb-2']);
    const foreign = await call('GET', '/whatsapp-qr/chatbots/cb-foreign');
    expect([foreign.status, foreign.body.error.code]).toEqual([404, 'CHATBOT_NOT_FOUND']);
    expect((await call('GET', '/whatsapp-qr/chatbots?cursor=bm9wZQ')).body.error.code).toBe('INVALID_CURSOR');
  });

  it('has conversation manners on by default, and PUT turns them off and on', async () => {
    const created = await call('PUT', '/whatsapp-qr/chatbots/cb-manners', { body: { name: 'Polite' } });
    expect(created.body.conversationManners).toBe(true);
    const off = await call('PUT', '/whatsapp-qr/chatbots/cb-manners', {
      body: { conversationManners: false },
    });
    expect([off.body.conversationManners, off.body.name]).toEqual([false, 'Polite']);
    expect((await call('GET', '/whatsapp-qr/chatbots/cb-manners')).body.conversationManners).toBe(false);
    const bad = await call('PUT', '/whatsapp-qr/chatbots/cb-manners', {
      body: { conversationManners: 'no' },
    });
    expect([bad.status, bad.body.error.details[0].path]).toEqual([400, 'body.conversationManners']);
  });

  it('deletes a chatbot (204) only once its session is deleted (409 SESSION_EXISTS before)', async () => {
    const { sessionId } = await init('cb-linked');
    const refused = await call('DELETE', '/whatsapp-qr/chatbots/cb-linked');
    expect([refused.status, refused.body.error.code]).toEqual([409, 'SESSION_EXISTS']);
    await call('DELETE', `/whatsapp-qr/sessions/${sessionId}`);
    const deleted = await call('DELETE', '/whatsapp-qr/chatbots/cb-linked');
    expect([deleted.status, deleted.body]).toEqual([204, undefined]);
    expect((await call('GET', '/whatsapp-qr/chatbots/cb-linked')).status).toBe(404);
    expect((await call('DELETE', '/whatsapp-qr/chatbots/cb-linked')).status).toBe(404);
    await call('PUT', '/whatsapp-qr/chatbots/cb-theirs', { key: keyB, body: {} });
    expect((await call('DELETE', '/whatsapp-qr/chatbots/cb-theirs')).status).toBe(404);
    expect((await call('GET', '/whatsapp-qr/chatbots/cb-theirs', { key: keyB })).status).toBe(200);
  });
});
