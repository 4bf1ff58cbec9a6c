import { randomUUID } from 'node:crypto';
import type { SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type LoopbackServer, startLoopbackServer } from '#shared/adapters/ai/loopback-server.test-helper.ts';
import { DynamoChatbotStore } from '#shared/adapters/dynamodb-chatbot-store.ts';
import { DynamoConversationStore } from '#shared/adapters/dynamodb-conversation-store.ts';
import { DynamoMessageStore } from '#shared/adapters/dynamodb-message-store.ts';
import { DynamoSessionStore } from '#shared/adapters/dynamodb-session-store.ts';
import { DynamoTable } from '#shared/adapters/dynamodb-table.ts';
import { DynamoUsageStore } from '#shared/adapters/dynamodb-usage-store.ts';
import type { MessageReceived } from '#shared/contracts/incoming.ts';
import { provisionTestAws, type TestAws } from '#shared/testing/aws-test-env.ts';
import { aChatbot, aSession } from '#shared/testing/builders.ts';
import { drainQueue } from '#shared/testing/sqs-drain.ts';
import {
  conversationIdOf,
  inboundMessageIdOf,
  replyMessageIdOf,
} from '#shared/use-cases/process-incoming.ts';

// The AI Lambda's handler, as built by its composition root, on DynamoDB Local and the SQS
// stand-in: the offline responder by default, an OpenAI-compatible loopback server that fails for
// chatbots whose model is `openai:…`.

let aws: TestAws;
let handler: typeof import('./incoming-ai.ts')['handler'];
let failingProvider: LoopbackServer;
let logger: typeof import('./ai-composition-root.ts')['logger'];
let stores: {
  sessions: DynamoSessionStore;
  chatbots: DynamoChatbotStore;
  messages: DynamoMessageStore;
  conversations: DynamoConversationStore;
  usage: DynamoUsageStore;
};

beforeAll(async () => {
  aws = await provisionTestAws();
  failingProvider = await startLoopbackServer();
  failingProvider.respond = () => ({ status: 503, body: { error: { message: 'overloaded' } } });
  Object.assign(process.env, aws.env, {
    AI_PROVIDER: 'offline',
    OPENAI_BASE_URL: `${failingProvider.url}/v1`,
    OPENAI_API_KEY: 'sk-test',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    ALLOWED_MODELS: 'offline,openai:gpt-4o-mini',
    AI_REPLIES_PER_DAY: '2',
  });
  // Imported once the environment is set, as Lambda would load it.
  handler = (await import('./incoming-ai.ts')).handler;
  logger = (await import('./ai-composition-root.ts')).logger;
  const table = (key: string) => new DynamoTable(aws.clients.dynamo, aws.env[key] as string);
  stores = {
    sessions: new DynamoSessionStore(table('SESSIONS_TABLE')),
    chatbots: new DynamoChatbotStore(table('SESSIONS_TABLE')),
    messages: new DynamoMessageStore(table('MESSAGES_TABLE')),
    conversations: new DynamoConversationStore(aws.clients.dynamo, {
      messages: aws.env.MESSAGES_TABLE as string,
      usage: aws.env.USAGE_TABLE as string,
    }),
    usage: new DynamoUsageStore(table('USAGE_TABLE')),
  };
});
afterAll(async () => {
  await failingProvider?.close();
  aws?.destroy();
});

/** A tenant with a connected session and a chatbot with the given settings. */
const aTenant = async (chatbot: { aiEnabled?: boolean; model?: string } = {}) => {
  const tenantId = `tenant-${randomUUID()}`;
  const session = aSession({ tenantId, chatbotId: 'bot', status: 'CONNECTED', phoneNumber: '4915100000001' });
  await stores.sessions.create(session);
  await stores.chatbots.createIfMissing(aChatbot({ tenantId, chatbotId: 'bot', name: 'Ana', ...chatbot }));
  return { tenantId, sessionId: session.sessionId };
};

let counter = 0;
const received = (
  tenant: { tenantId: string; sessionId: string },
  overrides: Partial<MessageReceived> = {},
): MessageReceived => ({
  v: 1,
  type: 'message.received',
  tenantId: tenant.tenantId,
  chatbotId: 'bot',
  sessionId: tenant.sessionId,
  waMessageId: `3EB0${++counter}`,
  from: '4915100000002@s.whatsapp.net',
  chat: '4915100000002@s.whatsapp.net',
  pushName: 'Bob',
  text: 'Hello?',
  timestamp: new Date().toISOString(),
  ...overrides,
});

/** An SQS event as the Lambda event source mapping builds it. */
const sqsEvent = (bodies: (MessageReceived | string)[]): SQSEvent => ({
  Records: bodies.map((body, i) => {
    const parsed = typeof body === 'string' ? undefined : body;
    return {
      messageId: `sqs-${counter}-${i}`,
      receiptHandle: `rh-${i}`,
      body: typeof body === 'string' ? body : JSON.stringify(body),
      attributes: {
        ApproximateReceiveCount: '1',
        SentTimestamp: String(Date.now()),
        SenderId: 'AIDLOCAL',
        ApproximateFirstReceiveTimestamp: String(Date.now()),
        MessageGroupId: parsed ? `${parsed.sessionId}:${parsed.chat}` : 'bad-group',
        MessageDeduplicationId: parsed?.waMessageId ?? 'bad',
        SequenceNumber: String(i),
      },
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:incoming.fifo',
      awsRegion: 'us-east-1',
    };
  }),
});

const drainCommands = () => drainQueue(aws.clients.sqs, aws.env.COMMAND_QUEUE_URLS?.split(',')[0]);

const usageToday = async (tenantId: string) => {
  const today = new Date().toISOString().slice(0, 10);
  return (await stores.usage.listDays(tenantId, today, today))[0];
};

describe('incoming-ai handler', () => {
  it('answers with the offline responder: stores both messages and queues the reply as a send command', async () => {
    await drainCommands();
    const tenant = await aTenant();
    const event = received(tenant, { text: 'Do you deliver?' });
    expect(await handler(sqsEvent([event]))).toEqual({ batchItemFailures: [] });

    const inboundId = inboundMessageIdOf(tenant.sessionId, event.waMessageId);
    const replyId = replyMessageIdOf(inboundId);
    const conversationId = conversationIdOf(tenant.sessionId, event.chat);
    const listed = await stores.messages.listByConversation(conversationId, { limit: 10 });
    expect(listed.items.map((m) => [m.messageId, m.direction, m.status, m.text])).toEqual([
      [inboundId, 'in', 'DELIVERED', 'Do you deliver?'],
      [replyId, 'out', 'QUEUED', 'Ana: Echo: Do you deliver?'],
    ]);
    expect(await drainCommands()).toEqual([
      {
        v: 1,
        type: 'send',
        sessionId: tenant.sessionId,
        commandId: replyId,
        messageId: replyId,
        to: event.chat,
        text: 'Ana: Echo: Do you deliver?',
        // Conversation manners (on by default): mark the question read, type, then answer.
        manners: { chat: event.chat, readWaMessageId: event.waMessageId },
        group: tenant.sessionId,
      },
    ]);
  });

  it('stores the conversation and message once, counts usage once and replies once when a record arrives twice', async () => {
    await drainCommands();
    const tenant = await aTenant();
    const event = received(tenant);
    await handler(sqsEvent([event]));
    expect(await handler(sqsEvent([event]))).toEqual({ batchItemFailures: [] });

    const conversation = await stores.conversations.get(conversationIdOf(tenant.sessionId, event.chat));
    expect(conversation).toMatchObject({ messageCount: 2, unreadCount: 0, peerName: 'Bob' });
    expect((await stores.conversations.listBySession(tenant.sessionId, { limit: 10 })).items).toHaveLength(1);
    const listed = await stores.messages.listByConversation(conversation?.conversationId ?? '', {
      limit: 10,
    });
    expect(listed.items).toHaveLength(2);
    expect(await usageToday(tenant.tenantId)).toMatchObject({ messagesIn: 1, messagesOut: 1 });
    expect((await usageToday(tenant.tenantId))?.aiOutputTokens).toBeGreaterThan(0);
    // The second delivery re-enqueues the stored reply under the same commandId; SQS keeps one.
    const commands = await drainCommands();
    expect(commands.map((c) => c.commandId)).toEqual([
      replyMessageIdOf(inboundMessageIdOf(tenant.sessionId, event.waMessageId)),
    ]);
  });

  it('stores and counts the message but does not answer when the chatbot has AI disabled', async () => {
    await drainCommands();
    const tenant = await aTenant({ aiEnabled: false });
    const event = received(tenant);
    expect(await handler(sqsEvent([event]))).toEqual({ batchItemFailures: [] });
    const conversationId = conversationIdOf(tenant.sessionId, event.chat);
    const listed = await stores.messages.listByConversation(conversationId, { limit: 10 });
    expect(listed.items.map((m) => m.direction)).toEqual(['in']);
    expect(await stores.conversations.get(conversationId)).toMatchObject({ messageCount: 1, unreadCount: 1 });
    expect(await usageToday(tenant.tenantId)).toMatchObject({
      messagesIn: 1,
      messagesOut: 0,
      aiInputTokens: 0,
    });
    expect(await drainCommands()).toEqual([]);
  });

  it('reports a record whose provider fails (and the rest of its conversation) as failures, storing no reply', async () => {
    await drainCommands();
    const failing = await aTenant({ model: 'openai:gpt-4o-mini' });
    const healthy = await aTenant();
    const first = received(failing, { text: 'first' });
    const second = received(failing, { text: 'second' });
    const other = received(healthy, { text: 'other chat' });
    const event = sqsEvent([first, second, other]);
    const requestsBefore = failingProvider.requests.length;

    const response = await handler(event);

    expect(response.batchItemFailures.map((f) => f.itemIdentifier)).toEqual([
      event.Records[0]?.messageId,
      event.Records[1]?.messageId,
    ]);
    expect(failingProvider.requests.length - requestsBefore).toBe(1);
    expect(failingProvider.requests.at(-1)?.headers.authorization).toBe('Bearer sk-test');
    const failedReply = replyMessageIdOf(inboundMessageIdOf(failing.sessionId, first.waMessageId));
    expect(await stores.messages.get(failedReply)).toBeUndefined();
    expect(await usageToday(failing.tenantId)).toMatchObject({
      messagesIn: 1,
      messagesOut: 0,
      aiInputTokens: 0,
    });
    // The other conversation in the batch is answered.
    const commands = await drainCommands();
    expect(commands.map((c) => c.sessionId)).toEqual([healthy.sessionId]);
  });

  it('stores but does not answer beyond the AI replies of the day (AI_REPLIES_PER_DAY=2), and says so with a metric', async () => {
    await drainCommands();
    const tenant = await aTenant();
    const warn = vi.spyOn(logger, 'warn');
    try {
      const events = ['one', 'two', 'three'].map((text, i) =>
        received(tenant, {
          text,
          chat: `491510000001${i}@s.whatsapp.net`,
          from: `491510000001${i}@s.whatsapp.net`,
        }),
      );
      expect(await handler(sqsEvent(events))).toEqual({ batchItemFailures: [] });
      expect((await drainCommands()).map((c) => c.text)).toEqual(['Ana: Echo: one', 'Ana: Echo: two']);
      const third = inboundMessageIdOf(tenant.sessionId, events[2]?.waMessageId as string);
      expect(await stores.messages.get(third)).toMatchObject({ text: 'three', direction: 'in' });
      expect(await usageToday(tenant.tenantId)).toMatchObject({ messagesIn: 3, messagesOut: 2 });
      expect(warn).toHaveBeenCalledWith(
        'message stored but not answered: ai-reply-limit',
        expect.objectContaining({
          tenantId: tenant.tenantId,
          AiRepliesLimited: 1,
          _aws: expect.objectContaining({
            CloudWatchMetrics: [
              expect.objectContaining({ Metrics: [{ Name: 'AiRepliesLimited', Unit: 'Count' }] }),
            ],
          }),
        }),
      );
    } finally {
      warn.mockRestore();
    }
  });

  it('never calls a model the stage does not allow: the message is stored, not answered', async () => {
    await drainCommands();
    const tenant = await aTenant({ model: 'openai:gpt-5' });
    const requestsBefore = failingProvider.requests.length;
    const event = received(tenant);
    expect(await handler(sqsEvent([event]))).toEqual({ batchItemFailures: [] });
    expect(failingProvider.requests.length).toBe(requestsBefore);
    expect(await stores.messages.get(inboundMessageIdOf(tenant.sessionId, event.waMessageId))).toBeDefined();
    expect(
      await stores.messages.get(replyMessageIdOf(inboundMessageIdOf(tenant.sessionId, event.waMessageId))),
    ).toBeUndefined();
    expect(await drainCommands()).toEqual([]);
  });

  it('reports an invalid record as a failure (the DLQ takes it after its last receive) and goes on with the rest', async () => {
    await drainCommands();
    const tenant = await aTenant();
    const valid = received(tenant);
    const event = sqsEvent(['{not json', JSON.stringify({ v: 1, type: 'message.received' }), valid]);
    const response = await handler(event);
    expect(response.batchItemFailures.map((f) => f.itemIdentifier)).toEqual([
      event.Records[0]?.messageId,
      event.Records[1]?.messageId,
    ]);
    expect(await drainCommands()).toHaveLength(1);
  });
});
