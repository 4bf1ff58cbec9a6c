import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoConversationStore } from '#shared/adapters/dynamodb-conversation-store.ts';
import { loadConfig, RunnerEnv } from '#shared/config.ts';
import { deriveId } from '#shared/domain/ids.ts';
import { aMessage } from '#shared/testing/builders.ts';
import { type Runner, startRunner } from './runner.ts';
import { FAST_SOCKET, type Harness, startHarness } from './testing/runner-harness.ts';

// DELETE /sessions/{id} through the runner: real Baileys against the simulator.

let h: Harness;
let runner: Runner;

beforeAll(async () => {
  h = await startHarness();
  runner = await startRunner(loadConfig(RunnerEnv, h.runnerEnv), { socketOverrides: FAST_SOCKET });
});
afterAll(async () => {
  await runner?.shutdown();
  await h?.close();
});

const authObjects = async (sessionId: string) => (await runner.objects.list(`sessions/${sessionId}/`)).length;
const gone = (sessionId: string) =>
  h.waitFor('the session record deleted', async () => (await h.sessions.get(sessionId)) === undefined);

describe('deleting a session', () => {
  it('unlinks the device, deletes the auth state, the record and (purge) its conversations', async () => {
    const phone = '4915100000201';
    const { body } = await h.call('POST', '/init', { chatbotId: 'delete-me' });
    const sessionId = body.sessionId as string;
    const qr = await h.waitFor('a QR', async () => (await h.sessions.get(sessionId))?.qr);
    await h.sim.scanQr(phone, qr);
    await h.waitFor('CONNECTED', async () => (await h.sessions.get(sessionId))?.status === 'CONNECTED');
    const conversations = new DynamoConversationStore(h.aws.clients.dynamo, {
      messages: h.aws.env.MESSAGES_TABLE as string,
      usage: h.aws.env.USAGE_TABLE as string,
    });
    const peer = '4915199999901@s.whatsapp.net';
    const message = aMessage({ sessionId, conversationId: deriveId('conv', sessionId, peer), to: peer });
    await conversations.appendMessage({ message, peer, usage: { messagesOut: 1 }, now: message.createdAt });
    expect(await authObjects(sessionId)).toBeGreaterThan(0);

    const res = await h.call('DELETE', `/sessions/${sessionId}?purge=true`);
    expect([res.status, res.body.status]).toEqual([202, 'DELETING']);
    await gone(sessionId);
    await h.waitFor(
      'device unlinked at the phone',
      () => !h.sim.stats().devices.some((d) => d.jid.startsWith(phone)),
    );
    expect(await authObjects(sessionId)).toBe(0);
    expect(await h.messages.get(message.messageId)).toBeUndefined();
    expect((await conversations.listBySession(sessionId, { limit: 10 })).items).toEqual([]);
    expect((await h.call('GET', `/status/${sessionId}`)).status).toBe(404);
    expect(runner.supervisor.status()[0]?.sessions).toBe(0);
  }, 60_000);

  it('deletes a never-linked session that no runner held when it was asked, from its auth state alone', async () => {
    const { body } = await h.call('POST', '/init', { chatbotId: 'never-linked' });
    const sessionId = body.sessionId as string;
    await h.waitFor('a QR', async () => (await h.sessions.get(sessionId))?.qr);
    // Stores the auth state of the QR socket; lets its last long poll end and gives back what it
    // got, so the delete command below is not lost in it.
    await runner.shutdown();
    expect(await authObjects(sessionId)).toBeGreaterThan(0);
    expect((await h.call('DELETE', `/sessions/${sessionId}`)).status).toBe(202);
    // A DELETING session is not resumed by the next runner: only the delete command acts on it.
    runner = await startRunner(loadConfig(RunnerEnv, h.runnerEnv), { socketOverrides: FAST_SOCKET });
    await gone(sessionId);
    expect(await authObjects(sessionId)).toBe(0);
    expect(runner.supervisor.status()[0]?.sessions).toBe(0);
    // The chatbot is free: init makes a new session.
    const again = await h.call('POST', '/init', { chatbotId: 'never-linked' });
    expect([again.status, again.body.sessionId === sessionId]).toEqual([201, false]);
  }, 60_000);
});
