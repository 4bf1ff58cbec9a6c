import { beforeEach, describe, expect, it } from 'vitest';
import { ConversationMessagesResponse } from '../contracts/read-api.ts';
import { aChatbot, aSession } from '../testing/builders.ts';
import { type FakeAiDeps, fakeAiDeps } from '../testing/in-memory-ai-stores.ts';
import { inboundMessageIdOf, processIncoming } from './process-incoming.ts';
import { toConversationMessageView } from './read-api.ts';

const PEER = '4915100000002@s.whatsapp.net';
const MEDIA = {
  mediaId: '0f8fad5b-d9cb-469f-a165-70867728950e',
  mimeType: 'image/jpeg',
  size: 50_000,
  sha256: 'a'.repeat(64),
  caption: 'broken lid',
};
let deps: FakeAiDeps;
let sessionId: string;

beforeEach(async () => {
  deps = fakeAiDeps({ historyMessages: 4 });
  const session = aSession({ status: 'CONNECTED', phoneNumber: '4915100000001', shard: 0 });
  sessionId = session.sessionId;
  await deps.sessions.create(session);
  await deps.chatbots.createIfMissing(aChatbot({ systemPrompt: 'You fix lids.', aiEnabled: true }));
});

const event = (media: typeof MEDIA & { error?: string }) => ({
  v: 1 as const,
  type: 'message.received' as const,
  tenantId: 'tenant-a',
  chatbotId: 'bot-1',
  sessionId,
  waMessageId: `WA-${Math.random()}`,
  from: PEER,
  chat: PEER,
  text: '[image: broken lid]',
  media,
  timestamp: '2026-01-01T11:59:00.000Z',
});

describe('an incoming message with a file', () => {
  it('is stored with its media, listed with it, and reaches the AI as its note', async () => {
    const received = event(MEDIA);
    await processIncoming(deps, received);

    const stored = await deps.messages.get(inboundMessageIdOf(sessionId, received.waMessageId));
    expect(stored).toMatchObject({ text: '[image: broken lid]', media: MEDIA });
    const view = ConversationMessagesResponse.parse({ items: [toConversationMessageView(stored as never)] });
    expect(view.items[0]?.media).toEqual(MEDIA);
    expect(deps.chatModel.requests.at(-1)?.messages.at(-1)?.text).toBe('[image: broken lid]');
  });

  it('keeps a message whose file could not be fetched, marked with the error', async () => {
    const received = event({ ...MEDIA, error: 'MEDIA_DOWNLOAD_FAILED' });
    await processIncoming(deps, received);
    const stored = await deps.messages.get(inboundMessageIdOf(sessionId, received.waMessageId));
    expect(stored?.media).toEqual({ ...MEDIA, error: 'MEDIA_DOWNLOAD_FAILED' });
  });
});
