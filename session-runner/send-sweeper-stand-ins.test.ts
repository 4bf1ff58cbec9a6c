import { PurgeQueueCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalApi, startLocalApi } from '#local/api-gateway.ts';
import { type AwsClients, createAwsClients } from '#shared/adapters/aws-clients.ts';
import { DynamoLeaseStore } from '#shared/adapters/dynamodb-lease-store.ts';
import { DynamoMessageStore } from '#shared/adapters/dynamodb-message-store.ts';
import { DynamoSessionStore } from '#shared/adapters/dynamodb-session-store.ts';
import { DynamoTable } from '#shared/adapters/dynamodb-table.ts';
import { DynamoTenantStore } from '#shared/adapters/dynamodb-tenant-store.ts';
import { SqsCommandPublisher } from '#shared/adapters/sqs-command-publisher.ts';
import { createLogger } from '#shared/logger.ts';
import { systemClock } from '#shared/ports/clock.ts';
import { provisionTestAws, type TestAws } from '#shared/testing/aws-test-env.ts';
import { drainQueue } from '#shared/testing/sqs-drain.ts';
import { createTenant } from '#shared/use-cases/tenants.ts';
import { SendSweeper } from './send-sweeper.ts';

// An API send whose command is lost (the queue purged) comes back through the sweeper, on the
// stand-ins: local API gateway → handlers → DynamoDB Local and fauxqs. The sweeper's clients are the
// runner's (its calls go through the IAM conformance check at the end of the run).

let aws: TestAws;
let api: LocalApi;
let runnerClients: AwsClients;
let apiKey: string;

beforeAll(async () => {
  aws = await provisionTestAws();
  Object.assign(process.env, aws.env, { POWERTOOLS_LOG_LEVEL: 'ERROR' });
  api = await startLocalApi({ port: 0 });
  runnerClients = createAwsClients(aws.env, { component: 'runner' });
  const tenants = new DynamoTenantStore(new DynamoTable(aws.clients.dynamo, aws.env.TENANTS_TABLE as string));
  apiKey = (await createTenant({ tenants, clock: systemClock }, 'Sweep')).apiKey;
});
afterAll(async () => {
  await api?.close();
  runnerClients?.dynamo.destroy();
  runnerClients?.sqs.destroy();
  runnerClients?.s3.destroy();
  aws?.destroy();
});

const post = async (path: string, body: unknown) => {
  const res = await fetch(`${api.url}/whatsapp-qr${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  // biome-ignore lint/suspicious/noExplicitAny: assertions walk arbitrary JSON
  return { status: res.status, body: (await res.json()) as any };
};

describe('the send sweeper on the stand-ins', () => {
  it('puts the send command of an accepted message back on its queue, same messageId, after a purge', async () => {
    const table = (key: string) => new DynamoTable(runnerClients.dynamo, aws.env[key] as string);
    const sessions = new DynamoSessionStore(table('SESSIONS_TABLE'));
    const messages = new DynamoMessageStore(table('MESSAGES_TABLE'));
    const lease = await new DynamoLeaseStore(table('LEASES_TABLE')).acquire(
      0,
      'sweeper',
      Date.now(),
      600_000,
    );
    expect(lease).toBeDefined();
    const queueUrl = aws.env.COMMAND_QUEUE_URLS?.split(',')[0] as string;

    const init = await post('/init', { chatbotId: 'sweep-bot' });
    expect(init.status).toBe(201);
    const sessionId = init.body.sessionId as string;
    const now = new Date().toISOString();
    await sessions.transition(sessionId, {
      to: 'CONNECTED',
      fields: { phoneNumber: '4915100000001', connectedAt: now },
      fence: lease?.fence,
      now,
    });
    const sent = await post('/send', { sessionId, to: '+4915112345678', message: 'lost and found' });
    expect(sent.status).toBe(202);
    const messageId = sent.body.messageId as string;

    await aws.clients.sqs.send(new PurgeQueueCommand({ QueueUrl: queueUrl }));
    expect(await drainQueue(aws.clients.sqs, queueUrl)).toEqual([]);

    const logger = createLogger('test');
    logger.setLogLevel('SILENT');
    const sweeper = new SendSweeper({
      shard: 0,
      sessions,
      messages,
      commands: new SqsCommandPublisher(runnerClients.sqs, [queueUrl]),
      fence: () => lease?.fence,
      // Three minutes on: the command had time to be worked on, and was not.
      now: () => Date.now() + 3 * 60_000,
      timers: { setTimeout: () => undefined, clearTimeout: () => undefined },
      logger,
    });
    expect(await sweeper.sweepOnce()).toEqual({ resent: [messageId], failed: [] });

    const commands = await drainQueue(aws.clients.sqs, queueUrl);
    expect(commands).toEqual([
      {
        v: 1,
        type: 'send',
        sessionId,
        commandId: `${messageId}:resend:1`,
        messageId,
        to: '4915112345678@s.whatsapp.net',
        text: 'lost and found',
        group: sessionId,
      },
    ]);
    expect(await messages.get(messageId)).toMatchObject({ status: 'QUEUED', messageId });
  });
});
