import { createServer, type Socket } from 'node:net';
import { ListQueuesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, describe, expect, it } from 'vitest';
import { type AwsClients, createAwsClients, REQUEST_TIMEOUTS } from './aws-clients.ts';

// No AWS call may hang for good: every client has connection and request timeouts that throw.

const built: AwsClients[] = [];
afterAll(() => {
  for (const c of built) for (const client of [c.dynamo, c.sqs, c.s3]) client.destroy();
});

const handlerConfig = async (client: { config: { requestHandler: unknown } }) => {
  const handler = client.config.requestHandler as { configProvider: Promise<Record<string, unknown>> };
  return handler.configProvider;
};

describe('AWS client timeouts', () => {
  it('gives every client a connection timeout and a request timeout that throws', async () => {
    const clients = createAwsClients({ SQS_ENDPOINT: 'http://127.0.0.1:1' });
    built.push(clients);
    for (const [name, client] of Object.entries(clients)) {
      const config = await handlerConfig(client);
      expect(config.connectionTimeout, name).toBeGreaterThan(0);
      expect(config.requestTimeout, name).toBeGreaterThan(0);
      expect(config.throwOnRequestTimeout, name).toBe(true);
    }
    // A long-poll receive waits up to 20 s: the SQS limit must be longer.
    expect((await handlerConfig(clients.sqs)).requestTimeout).toBeGreaterThan(20_000);
  });

  it('fails a call to a server that accepts and never answers, instead of hanging', async () => {
    const sockets: Socket[] = [];
    const hung = createServer((s) => sockets.push(s));
    await new Promise<void>((r) => hung.listen(0, '127.0.0.1', r));
    const port = (hung.address() as { port: number }).port;
    // The same settings as the product's SQS client, with a shorter limit and one attempt.
    const sqs = new SQSClient({
      endpoint: `http://127.0.0.1:${port}`,
      maxAttempts: 1,
      requestHandler: { ...REQUEST_TIMEOUTS.sqs, requestTimeout: 300 },
    });
    try {
      await expect(sqs.send(new ListQueuesCommand({}))).rejects.toMatchObject({ name: 'TimeoutError' });
    } finally {
      sqs.destroy();
      for (const s of sockets) s.destroy();
      hung.close();
    }
  });
});
