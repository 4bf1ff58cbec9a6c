import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAwsClients } from '#shared/adapters/aws-clients.ts';
import type { MessageReceived } from '#shared/contracts/incoming.ts';
import { provisionTestAws, type TestAws } from '#shared/testing/aws-test-env.ts';
import { drainQueue } from '#shared/testing/sqs-drain.ts';
import { sqsIncomingPublisher } from './incoming-publisher.ts';

// The publisher against the SQS stand-in (a real FIFO queue with deduplication).

let aws: TestAws;
beforeAll(async () => {
  aws = await provisionTestAws();
});
afterAll(() => aws?.destroy());

const S1 = '11111111-1111-4111-8111-111111111111';
const S2 = '22222222-2222-4222-8222-222222222222';
const message = (sessionId: string, waMessageId: string, text: string): MessageReceived => ({
  v: 1,
  type: 'message.received',
  tenantId: 't1',
  chatbotId: 'bot',
  sessionId,
  waMessageId,
  from: '4915199@s.whatsapp.net',
  chat: '4915199@s.whatsapp.net',
  text,
  timestamp: new Date().toISOString(),
});

describe('sqsIncomingPublisher', () => {
  it('delivers the same WhatsApp id of two sessions both, and a repeat within one chat once', async () => {
    const publish = sqsIncomingPublisher(aws.clients.sqs, aws.env.INCOMING_QUEUE_URL as string);
    await publish(message(S1, '3EB0SAME', 'to session 1'));
    await publish(message(S2, '3EB0SAME', 'to session 2'));
    await publish(message(S1, '3EB0SAME', 'to session 1'));
    const received = await drainQueue(aws.clients.sqs, aws.env.INCOMING_QUEUE_URL);
    expect(received.map((m) => m.text).sort()).toEqual(['to session 1', 'to session 2']);
  });

  it('gives up within its time bound when SQS does not answer (so the outbox can spool)', async () => {
    const sockets: Socket[] = [];
    const hung: Server = createServer((s) => sockets.push(s)); // accepts, never answers
    await new Promise<void>((r) => hung.listen(0, '127.0.0.1', r));
    const port = (hung.address() as { port: number }).port;
    const { sqs } = createAwsClients({ SQS_ENDPOINT: `http://127.0.0.1:${port}` });
    try {
      const publish = sqsIncomingPublisher(sqs, aws.env.INCOMING_QUEUE_URL as string, 500);
      const started = Date.now();
      await expect(publish(message(S1, 'X1', 'never'))).rejects.toThrow();
      expect(Date.now() - started).toBeLessThan(10_000);
    } finally {
      sqs.destroy();
      for (const s of sockets) s.destroy();
      hung.close();
    }
  });
});
