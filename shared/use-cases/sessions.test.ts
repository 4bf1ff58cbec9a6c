import { describe, expect, it } from 'vitest';
import { DependencyUnavailableError } from '../errors.ts';
import { fakeGatewayDeps } from '../testing/fakes.ts';
import {
  disconnectSession,
  getQrCode,
  getSessionByChatbot,
  getSessionStatus,
  initSession,
} from './sessions.ts';

describe('initSession', () => {
  it('creates the chatbot with defaults and a session on its shard, then enqueues one start', async () => {
    const deps = fakeGatewayDeps({ shardCount: 4 });
    const { session, created } = await initSession(deps, 't1', {
      chatbotId: 'bot',
      pairingPhoneNumber: '+4915112345678',
    });
    expect(created).toBe(true);
    expect(session).toMatchObject({
      status: 'CONNECTING',
      desiredState: 'running',
      pairingPhoneNumber: '4915112345678',
    });
    expect(session.shard).toBeGreaterThanOrEqual(0);
    expect(session.shard).toBeLessThan(4);
    // AI stays off until the tenant turns it on with PUT /chatbots/{id}.
    expect(await deps.chatbots.get('t1', 'bot')).toMatchObject({
      aiEnabled: false,
      sessionId: session.sessionId,
    });
    expect(deps.commands.published).toEqual([
      {
        shard: session.shard,
        command: expect.objectContaining({
          type: 'start',
          sessionId: session.sessionId,
          pairingPhoneNumber: '4915112345678',
        }),
      },
    ]);
  });

  it('undoes the new session when the start cannot be enqueued', async () => {
    const deps = fakeGatewayDeps();
    deps.commands.failNext = new DependencyUnavailableError('sqs');
    await expect(initSession(deps, 't1', { chatbotId: 'bot' })).rejects.toBeInstanceOf(
      DependencyUnavailableError,
    );
    expect(deps.sessions.items.size).toBe(0);
    expect((await deps.chatbots.get('t1', 'bot'))?.sessionId).toBeUndefined();
    // A retry then succeeds as a first init.
    expect((await initSession(deps, 't1', { chatbotId: 'bot' })).created).toBe(true);
  });

  it('restarts a disconnected or stopped session on re-init, and leaves a waiting one alone', async () => {
    const deps = fakeGatewayDeps();
    const { session } = await initSession(deps, 't1', { chatbotId: 'bot' });
    const waiting = await initSession(deps, 't1', { chatbotId: 'bot' });
    expect(waiting).toMatchObject({ created: false, session: { sessionId: session.sessionId } });
    expect(deps.commands.published).toHaveLength(1);

    await disconnectSession(deps, 't1', { sessionId: session.sessionId });
    const restarted = await initSession(deps, 't1', { chatbotId: 'bot' });
    expect(restarted.session.desiredState).toBe('running');
    expect(deps.commands.published.map((p) => p.command.type)).toEqual(['start', 'stop', 'start']);
  });

  it('never overwrites a status the runner wrote, and puts an idle status back when the start cannot be enqueued', async () => {
    const deps = fakeGatewayDeps();
    const { session } = await initSession(deps, 't1', { chatbotId: 'bot' });
    const now = deps.clock.now().toISOString();
    await deps.sessions.transition(session.sessionId, {
      to: 'QR_READY',
      fields: { qr: 'q', qrExpiresAt: now },
      now,
    });
    await disconnectSession(deps, 't1', { sessionId: session.sessionId });
    const again = await initSession(deps, 't1', { chatbotId: 'bot' });
    expect(again.session.status).toBe('QR_READY');
    expect(deps.commands.published.at(-1)?.command.type).toBe('start');

    await deps.sessions.transition(session.sessionId, { to: 'DISCONNECTED', now });
    deps.commands.failNext = new DependencyUnavailableError('sqs');
    await expect(initSession(deps, 't1', { chatbotId: 'bot' })).rejects.toBeInstanceOf(
      DependencyUnavailableError,
    );
    expect((await deps.sessions.get(session.sessionId))?.status).toBe('DISCONNECTED');
  });

  it('re-init of a session whose runner is gone enqueues a start and shows RUNNER_UNAVAILABLE, never CONNECTED', async () => {
    const deps = fakeGatewayDeps({ runnerUp: false });
    const { session } = await initSession(deps, 't1', { chatbotId: 'bot' });
    const now = deps.clock.now().toISOString();
    await deps.sessions.transition(session.sessionId, {
      to: 'CONNECTED',
      fields: { runnerSeenAt: now },
      now,
    });
    expect(await getSessionStatus(deps, 't1', session.sessionId)).toMatchObject({
      status: 'CONNECTING',
      lastError: 'RUNNER_UNAVAILABLE',
    });
    const again = await initSession(deps, 't1', { chatbotId: 'bot' });
    expect(again.session).toMatchObject({ status: 'CONNECTING', lastError: 'RUNNER_UNAVAILABLE' });
    expect(deps.commands.published.map((p) => p.command.type)).toEqual(['start', 'start']);
  });

  it('two concurrent inits of one chatbot end with one session', async () => {
    const deps = fakeGatewayDeps();
    const [a, b] = await Promise.all([
      initSession(deps, 't1', { chatbotId: 'bot' }),
      initSession(deps, 't1', { chatbotId: 'bot' }),
    ]);
    expect(a.session.sessionId).toBe(b.session.sessionId);
    expect(deps.sessions.items.size).toBe(1);
  });
});

describe('getQrCode', () => {
  it('answers QR_NOT_READY for an expired QR and ALREADY_CONNECTED once linked', async () => {
    const deps = fakeGatewayDeps();
    const { session } = await initSession(deps, 't1', { chatbotId: 'bot' });
    const now = deps.clock.now();
    await deps.sessions.transition(session.sessionId, {
      to: 'QR_READY',
      fields: { qr: 'q', qrExpiresAt: new Date(now.getTime() + 20_000).toISOString() },
      now: now.toISOString(),
    });
    expect((await getQrCode(deps, 't1', session.sessionId)).qr).toBe('q');
    deps.clock.advance(21_000);
    await expect(getQrCode(deps, 't1', session.sessionId)).rejects.toMatchObject({ code: 'QR_NOT_READY' });
    await deps.sessions.transition(session.sessionId, { to: 'CONNECTED', now: now.toISOString() });
    await expect(getQrCode(deps, 't1', session.sessionId)).rejects.toMatchObject({
      code: 'ALREADY_CONNECTED',
    });
  });
});

describe('getSessionByChatbot', () => {
  it('tells an unknown chatbot from a chatbot without a session', async () => {
    const deps = fakeGatewayDeps();
    await expect(getSessionByChatbot(deps, 't1', 'nope')).rejects.toMatchObject({
      code: 'CHATBOT_NOT_FOUND',
    });
    await deps.chatbots.createIfMissing({
      tenantId: 't1',
      chatbotId: 'lonely',
      name: 'x',
      aiEnabled: false,
      systemPrompt: '',
      createdAt: '',
      updatedAt: '',
    });
    await expect(getSessionByChatbot(deps, 't1', 'lonely')).rejects.toMatchObject({
      code: 'SESSION_NOT_FOUND',
    });
  });
});

describe('init limits', () => {
  it('refuses inits beyond the per-minute rate with 429 RATE_LIMITED and the seconds to the next minute', async () => {
    const deps = fakeGatewayDeps({ initsPerMinute: 2 });
    deps.clock.advance(15_000); // 12:00:15
    await initSession(deps, 't1', { chatbotId: 'a' });
    await initSession(deps, 't1', { chatbotId: 'a' });
    await expect(initSession(deps, 't1', { chatbotId: 'b' })).rejects.toMatchObject({
      kind: 'rate_limited',
      code: 'RATE_LIMITED',
      retryAfterSeconds: 45,
    });
    expect(deps.chatbots.items.size).toBe(1); // the refused init made nothing
    expect((await initSession(deps, 't2', { chatbotId: 'b' })).created).toBe(true); // per tenant
    deps.clock.advance(45_000);
    expect((await initSession(deps, 't1', { chatbotId: 'b' })).created).toBe(true);
  });

  it('caps the sessions of a tenant; re-init of an existing one still works, and an undone init frees its place', async () => {
    const deps = fakeGatewayDeps({ sessionsPerTenant: 2 });
    await initSession(deps, 't1', { chatbotId: 'a' });
    deps.commands.failNext = new DependencyUnavailableError('sqs');
    await expect(initSession(deps, 't1', { chatbotId: 'b' })).rejects.toBeInstanceOf(
      DependencyUnavailableError,
    );
    await initSession(deps, 't1', { chatbotId: 'b' });
    const refused = initSession(deps, 't1', { chatbotId: 'c' });
    await expect(refused).rejects.toMatchObject({
      code: 'RATE_LIMITED',
      message: expect.stringContaining('sessions'),
    });
    await expect(refused).rejects.toHaveProperty('retryAfterSeconds', expect.any(Number));
    expect(deps.sessions.items.size).toBe(2);
    expect(await deps.chatbots.get('t1', 'c')).toBeUndefined(); // a refused init writes nothing
    expect((await initSession(deps, 't1', { chatbotId: 'a' })).created).toBe(false);
    expect((await initSession(deps, 't2', { chatbotId: 'c' })).created).toBe(true);
  });

  it('two concurrent first inits of one chatbot count one session', async () => {
    const deps = fakeGatewayDeps({ sessionsPerTenant: 2 });
    await Promise.all([
      initSession(deps, 't1', { chatbotId: 'a' }),
      initSession(deps, 't1', { chatbotId: 'a' }),
    ]);
    expect((await initSession(deps, 't1', { chatbotId: 'b' })).created).toBe(true);
    await expect(initSession(deps, 't1', { chatbotId: 'c' })).rejects.toMatchObject({ code: 'RATE_LIMITED' });
  });
});
