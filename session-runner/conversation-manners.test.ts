import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqsCommandPublisher } from '#shared/adapters/sqs-command-publisher.ts';
import { loadConfig, RunnerEnv } from '#shared/config.ts';
import { newId } from '#shared/domain/ids.ts';
import { aMessage } from '#shared/testing/builders.ts';
import { type Runner, startRunner } from './runner.ts';
import { FAST_SOCKET, type Harness, startHarness } from './testing/runner-harness.ts';

// An AI reply's manners (read receipt, typing…) through real Baileys against the simulator: the
// stanzas they make are accepted and the reply arrives. (The simulator does not record read
// receipts or presence; their order and timing are tested at the socket in session-send.test.ts.)

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

describe('conversation manners', () => {
  it('marks the answered message read, types, then delivers the reply on a session that stays connected', async () => {
    const phone = '4915100000301';
    const contact = '4915199999301';
    const { body } = await h.call('POST', '/init', { chatbotId: 'polite-bot' });
    const sessionId = body.sessionId as string;
    await h.sim.scanQr(phone, await h.waitFor('a QR', async () => (await h.sessions.get(sessionId))?.qr));
    await h.waitFor('CONNECTED', async () => (await h.sessions.get(sessionId))?.status === 'CONNECTED');
    await h.sim.sendText(contact, phone, 'Are you open today?');
    const incoming = await h.waitFor('the incoming message', async () =>
      (await h.incoming()).find((m) => m.text === 'Are you open today?'),
    );

    const chat = `${contact}@s.whatsapp.net`;
    const session = await h.sessions.get(sessionId);
    const reply = aMessage({ sessionId, tenantId: session?.tenantId, to: chat, text: 'Yes, until 6 pm.' });
    await h.messages.putIfAbsent(reply);
    await new SqsCommandPublisher(
      h.aws.clients.sqs,
      h.runnerEnv.COMMAND_QUEUE_URLS?.split(',') ?? [],
    ).publish(session?.shard ?? 0, {
      v: 1,
      type: 'send',
      sessionId,
      commandId: newId(),
      messageId: reply.messageId,
      to: chat,
      text: reply.text,
      manners: { readWaMessageId: incoming.waMessageId as string, chat },
    });
    await h.waitFor('the reply in the contact inbox', () =>
      h.sim.inbox(contact).find((m) => m.text === 'Yes, until 6 pm.'),
    );
    await h.waitFor('the reply recorded as sent', async () =>
      ['SENT', 'DELIVERED', 'READ'].includes((await h.messages.get(reply.messageId))?.status ?? ''),
    );
    expect((await h.sessions.get(sessionId))?.status).toBe('CONNECTED');
  }, 60_000);
});
