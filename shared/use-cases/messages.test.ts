import { describe, expect, it } from 'vitest';
import { DependencyUnavailableError } from '../errors.ts';
import { fakeGatewayDeps } from '../testing/fakes.ts';
import { getMessage, sendMessage } from './messages.ts';
import { initSession } from './sessions.ts';

const connectedSession = async () => {
  const deps = fakeGatewayDeps({ ratePerMinute: 3 });
  const { session } = await initSession(deps, 't1', { chatbotId: 'bot' });
  await deps.sessions.transition(session.sessionId, { to: 'CONNECTED', now: deps.clock.now().toISOString() });
  deps.commands.published.length = 0;
  return { deps, sessionId: session.sessionId };
};

describe('sendMessage', () => {
  it('stores nothing and frees the idempotency key when the send cannot be enqueued', async () => {
    const { deps, sessionId } = await connectedSession();
    deps.commands.failNext = new DependencyUnavailableError('sqs');
    const input = { sessionId, to: '4915112345678', message: 'hi' };
    await expect(sendMessage(deps, 't1', input, 'k1')).rejects.toBeInstanceOf(DependencyUnavailableError);
    expect(deps.messages.items.size).toBe(0);
    expect(deps.idempotency.items.size).toBe(0);
    const retried = await sendMessage(deps, 't1', input, 'k1');
    expect(deps.messages.items.get(retried.messageId)?.status).toBe('QUEUED');
    expect(deps.commands.published).toHaveLength(1);
  });

  it('finishes the work of a first request that died after claiming its key', async () => {
    const { deps, sessionId } = await connectedSession();
    const messageId = '11111111-1111-4111-8111-111111111111';
    const input = { sessionId, to: '4915112345678', message: 'hi' };
    const first = await sendMessage(deps, 't1', input, 'k2');
    // Simulate the crash: the claim exists, the message and command do not.
    deps.messages.items.clear();
    deps.commands.published.length = 0;
    const record = [...deps.idempotency.items.values()][0];
    if (record) record.messageId = messageId;
    const replay = await sendMessage(deps, 't1', input, 'k2');
    expect(replay).toEqual({ messageId, status: 'QUEUED' });
    expect(first.messageId).not.toBe(messageId);
    expect(deps.messages.items.has(messageId)).toBe(true);
    expect(deps.commands.published.map((p) => p.command.commandId)).toEqual([messageId]);
  });

  it('replays within 24 h and treats the key as new after it expired', async () => {
    const { deps, sessionId } = await connectedSession();
    const input = { sessionId, to: '4915112345678', message: 'hi' };
    const first = await sendMessage(deps, 't1', input, 'k3');
    deps.clock.advance(23 * 3600_000);
    expect((await sendMessage(deps, 't1', input, 'k3')).messageId).toBe(first.messageId);
    deps.clock.advance(2 * 3600_000);
    expect((await sendMessage(deps, 't1', input, 'k3')).messageId).not.toBe(first.messageId);
  });

  it('does not count replays against the rate limit', async () => {
    const { deps, sessionId } = await connectedSession();
    const input = { sessionId, to: '4915112345678', message: 'hi' };
    for (let i = 0; i < 5; i++) await sendMessage(deps, 't1', input, 'same');
    await sendMessage(deps, 't1', input);
    await sendMessage(deps, 't1', input);
    await expect(sendMessage(deps, 't1', input)).rejects.toMatchObject({
      code: 'RATE_LIMITED',
      retryAfterSeconds: 60,
    });
  });

  it('puts an API send into its conversation and counts it once as a message out; a failed enqueue takes it back', async () => {
    const { deps, sessionId } = await connectedSession();
    const input = { sessionId, to: '+4915112345678', message: 'hi' };
    const { messageId } = await sendMessage(deps, 't1', input, 'k-usage');
    await sendMessage(deps, 't1', input, 'k-usage');
    const day = deps.clock.now().toISOString().slice(0, 10);
    expect((await deps.usage.listDays('t1', day, day))[0]).toMatchObject({ messagesOut: 1 });
    const stored = await deps.messages.get(messageId);
    const conversation = await deps.conversations.get(stored?.conversationId as string);
    expect(conversation).toMatchObject({
      peer: '4915112345678@s.whatsapp.net',
      messageCount: 1,
      lastDirection: 'out',
    });

    deps.commands.failNext = new DependencyUnavailableError('sqs');
    await expect(sendMessage(deps, 't1', { ...input, message: 'lost' })).rejects.toBeInstanceOf(
      DependencyUnavailableError,
    );
    expect((await deps.usage.listDays('t1', day, day))[0]).toMatchObject({ messagesOut: 1 });
  });

  it("hides another tenant's message", async () => {
    const { deps, sessionId } = await connectedSession();
    const { messageId } = await sendMessage(deps, 't1', { sessionId, to: '4915112345678', message: 'hi' });
    expect((await getMessage(deps, 't1', messageId)).to).toBe('4915112345678@s.whatsapp.net');
    await expect(getMessage(deps, 't2', messageId)).rejects.toMatchObject({ code: 'MESSAGE_NOT_FOUND' });
  });
});
