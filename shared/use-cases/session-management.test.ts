import { describe, expect, it } from 'vitest';
import { aSession } from '../testing/builders.ts';
import { fakeGatewayDeps } from '../testing/fakes.ts';
import { deleteChatbot, getChatbot, listChatbots } from './chatbots.ts';
import { deleteSession, listSessions } from './session-management.ts';
import { initSession } from './sessions.ts';

const at = (minute: number) => new Date(Date.UTC(2026, 0, 1, 10, minute)).toISOString();

describe('listSessions', () => {
  it('filters by the status the tenant sees and fills the page across stored pages', async () => {
    const deps = fakeGatewayDeps({ shardCount: 2, runnerUp: false });
    // Shard 0 is held, shard 1 is not: its stored CONNECTED sessions are shown CONNECTING.
    deps.leases.leases.set(0, { shard: 0, owner: 'runner', fence: 1, expiresAt: Number.MAX_SAFE_INTEGER });
    const made = [];
    for (let i = 0; i < 8; i++) {
      const session = aSession({ tenantId: 't1', shard: i % 2, status: 'CONNECTED', createdAt: at(i) });
      await deps.sessions.create(session);
      made.push(session);
    }
    await deps.sessions.create(
      aSession({ tenantId: 't2', shard: 0, status: 'CONNECTED', createdAt: at(30) }),
    );
    const page = await listSessions(deps, 't1', { status: 'CONNECTED', limit: 3 });
    // Newest first, only shard 0's: 6, 4, 2; a cursor since more may follow.
    expect(page.items.map((s) => s.sessionId)).toEqual([made[6], made[4], made[2]].map((s) => s?.sessionId));
    const rest = await listSessions(deps, 't1', { status: 'CONNECTED', limit: 3, cursor: page.nextCursor });
    expect(rest.items.map((s) => s.sessionId)).toEqual([made[0]?.sessionId]);
    expect(rest.nextCursor).toBeUndefined();
    const orphans = await listSessions(deps, 't1', { status: 'CONNECTING', limit: 50 });
    expect(orphans.items).toHaveLength(4);
    expect(orphans.items.every((s) => s.lastError === 'RUNNER_UNAVAILABLE' && s.shard === 1)).toBe(true);
  });

  it('filters by chatbot', async () => {
    const deps = fakeGatewayDeps();
    await deps.sessions.create(aSession({ tenantId: 't1', chatbotId: 'a' }));
    const b = aSession({ tenantId: 't1', chatbotId: 'b' });
    await deps.sessions.create(b);
    const page = await listSessions(deps, 't1', { chatbotId: 'b' });
    expect(page.items.map((s) => s.sessionId)).toEqual([b.sessionId]);
  });
});

describe('deleteSession', () => {
  it('marks it DELETING, frees the chatbot and its place in the cap, and enqueues one delete', async () => {
    const deps = fakeGatewayDeps({ sessionsPerTenant: 1 });
    const { session } = await initSession(deps, 't1', { chatbotId: 'bot' });
    deps.commands.published.length = 0;
    expect(await deleteSession(deps, 't1', session.sessionId, { purge: true })).toEqual({
      sessionId: session.sessionId,
      status: 'DELETING',
    });
    expect((await deps.sessions.get(session.sessionId))?.status).toBe('DELETING');
    expect((await deps.chatbots.get('t1', 'bot'))?.sessionId).toBeUndefined();
    expect(deps.commands.published).toEqual([
      {
        shard: session.shard,
        command: expect.objectContaining({ type: 'delete', sessionId: session.sessionId, purge: true }),
      },
    ]);
    // The cap of one session is free again: a new init makes a new session.
    const next = await initSession(deps, 't1', { chatbotId: 'bot' });
    expect([next.created, next.session.sessionId === session.sessionId]).toEqual([true, false]);
  });

  it('gives the cap back once only, and enqueues again when asked again', async () => {
    const deps = fakeGatewayDeps({ sessionsPerTenant: 2 });
    const { session } = await initSession(deps, 't1', { chatbotId: 'a' });
    await initSession(deps, 't1', { chatbotId: 'b' });
    await deleteSession(deps, 't1', session.sessionId, { purge: false });
    await deleteSession(deps, 't1', session.sessionId, { purge: false });
    expect(deps.commands.published.filter((p) => p.command.type === 'delete')).toHaveLength(2);
    await initSession(deps, 't1', { chatbotId: 'c' });
    await expect(initSession(deps, 't1', { chatbotId: 'd' })).rejects.toMatchObject({ code: 'RATE_LIMITED' });
  });

  it("answers 404 for another tenant's session and changes nothing", async () => {
    const deps = fakeGatewayDeps();
    const { session } = await initSession(deps, 't1', { chatbotId: 'bot' });
    await expect(deleteSession(deps, 't2', session.sessionId, { purge: true })).rejects.toMatchObject({
      code: 'SESSION_NOT_FOUND',
    });
    expect((await deps.sessions.get(session.sessionId))?.status).toBe('CONNECTING');
    expect((await deps.chatbots.get('t1', 'bot'))?.sessionId).toBe(session.sessionId);
  });

  it('leaves the session DELETING when the enqueue fails, so asking again finishes it', async () => {
    const deps = fakeGatewayDeps();
    const { session } = await initSession(deps, 't1', { chatbotId: 'bot' });
    deps.commands.failNext = new Error('SQS down');
    await expect(deleteSession(deps, 't1', session.sessionId, { purge: false })).rejects.toThrow('SQS down');
    expect((await deps.sessions.get(session.sessionId))?.status).toBe('DELETING');
    await deleteSession(deps, 't1', session.sessionId, { purge: false });
    expect(deps.commands.published.at(-1)?.command.type).toBe('delete');
  });
});

describe('chatbots', () => {
  it("lists and shows the tenant's own only, and deletes one only without a session", async () => {
    const deps = fakeGatewayDeps();
    const { session } = await initSession(deps, 't1', { chatbotId: 'linked' });
    await initSession(deps, 't2', { chatbotId: 'theirs' });
    expect((await listChatbots(deps, 't1', {})).items.map((c) => c.chatbotId)).toEqual(['linked']);
    await expect(getChatbot(deps, 't1', 'theirs')).rejects.toMatchObject({ code: 'CHATBOT_NOT_FOUND' });
    await expect(deleteChatbot(deps, 't1', 'linked')).rejects.toMatchObject({ code: 'SESSION_EXISTS' });
    await expect(deleteChatbot(deps, 't1', 'theirs')).rejects.toMatchObject({ code: 'CHATBOT_NOT_FOUND' });
    await deleteSession(deps, 't1', session.sessionId, { purge: false });
    await deleteChatbot(deps, 't1', 'linked');
    expect((await listChatbots(deps, 't1', {})).items).toEqual([]);
    expect(await getChatbot(deps, 't2', 'theirs')).toMatchObject({ chatbotId: 'theirs' });
  });
});
