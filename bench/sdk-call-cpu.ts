import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { request } from 'node:http';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DeleteMessageBatchCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { REQUEST_TIMEOUTS } from '#shared/adapters/aws-client-defaults.ts';
import { createDynamoClient } from '#shared/adapters/dynamodb-client.ts';
import { createS3Client } from '#shared/adapters/s3-client.ts';
import { createSqsClient } from '#shared/adapters/sqs-client.ts';

// `npx tsx bench/sdk-call-cpu.ts [calls] [name filter]`: CPU ms this process spends per AWS SDK
// call of the runner's configured clients (as `createDynamoClient`/`createS3Client`/`createSqsClient`
// build them) and of the same SDK clients as the SDK builds them (same endpoint, timeouts and
// checksum setting, nothing of `prepareClient`), one call shape per runner step of an outbound
// text, against a canned-answer server in a child process (so the server's CPU is not counted). The
// two are measured in alternation (3 rounds, best of each), so a change of the machine's load hits
// both alike. A plain `http.request` of the same size is the floor. A measuring script, not a test:
// the figures depend on the machine and its load.

const ITEM = {
  pk: { S: 'MESSAGE#01JEXAMPLE0000000000000000' },
  sk: { S: 'MESSAGE' },
  status: { S: 'SENT' },
  sessionId: { S: 'sess-0123456789' },
  tenantId: { S: 'tenant-0123456789' },
  to: { S: '15550000000@s.whatsapp.net' },
  text: { S: 'hello there, this is a text of ordinary length for the bench' },
  waMessageId: { S: '3EB0ABCDEF0123456789' },
  fence: { N: '7' },
  createdAt: { S: '2026-12-03T20:00:00.000Z' },
  updatedAt: { S: '2026-12-03T20:00:01.000Z' },
};

// The canned server: DynamoDB and SQS answer JSON by target, S3 answers a PUT with an ETag.
const SERVER = `
const http = require('node:http');
const item = ${JSON.stringify(ITEM)};
const body = JSON.stringify({ kind: 'send', messageId: '01JEXAMPLE', sessionId: 'sess', tenantId: 't' });
const md5 = require('node:crypto').createHash('md5').update(body).digest('hex');
const receive = JSON.stringify({ Messages: [{ MessageId: 'm1', ReceiptHandle: 'r'.repeat(200), MD5OfBody: md5, Body: body,
  Attributes: { MessageGroupId: 'sess', SequenceNumber: '1' } }] });
http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    const target = req.headers['x-amz-target'] || '';
    if (target.startsWith('DynamoDB')) {
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' });
      return res.end(JSON.stringify({ Attributes: item }));
    }
    if (target.includes('ReceiveMessage')) {
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' });
      return res.end(receive);
    }
    if (target.includes('DeleteMessageBatch')) {
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' });
      return res.end(JSON.stringify({ Successful: [{ Id: '0' }], Failed: [] }));
    }
    res.writeHead(200, { etag: '"abc"' });
    res.end();
  });
}).listen(0, '127.0.0.1', function () { console.log(this.address().port); });
`;

const startServer = async (): Promise<{ child: ChildProcess; endpoint: string }> => {
  const child = spawn(process.execPath, ['-e', SERVER], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [chunk] = (await once(child.stdout as NodeJS.ReadableStream, 'data')) as [Buffer];
  return { child, endpoint: `http://127.0.0.1:${chunk.toString().trim()}` };
};

/** CPU ms of this process per call of `call`, `n` calls, `concurrency` at a time, after a warm-up. */
const cpuPerCall = async (n: number, concurrency: number, call: () => Promise<unknown>) => {
  const run = async (count: number) => {
    let next = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next++ < count) await call();
      }),
    );
  };
  await run(Math.min(200, n));
  const before = process.cpuUsage();
  await run(n);
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1000 / n;
};

const plainPost = (endpoint: string, body: string) => () =>
  new Promise<void>((resolve, reject) => {
    const req = request(
      `${endpoint}/`,
      { method: 'POST', headers: { 'x-amz-target': 'DynamoDB_20120810.UpdateItem' } },
      (res) => {
        res.resume();
        res.on('end', () => resolve());
      },
    );
    req.on('error', reject);
    req.end(body);
  });

const main = async () => {
  Object.assign(process.env, {
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
    AWS_REGION: 'us-east-1',
  });
  const n = Number(process.argv[2] ?? 2000);
  const { child, endpoint } = await startServer();
  try {
    const config = { DYNAMODB_ENDPOINT: endpoint, SQS_ENDPOINT: endpoint, S3_ENDPOINT: endpoint };
    const configured = {
      dynamo: createDynamoClient(config, { component: 'runner' }),
      s3: createS3Client(config, { component: 'runner' }),
      sqs: createSqsClient(config, { component: 'runner' }),
    };
    const sdkDefault = {
      dynamo: DynamoDBDocumentClient.from(
        new DynamoDBClient({ requestHandler: REQUEST_TIMEOUTS.dynamo, endpoint }),
        { marshallOptions: { removeUndefinedValues: true } },
      ),
      s3: new S3Client({
        requestHandler: REQUEST_TIMEOUTS.s3,
        endpoint,
        forcePathStyle: true,
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
      }),
      sqs: new SQSClient({ requestHandler: REQUEST_TIMEOUTS.sqs, endpoint }),
    };
    const queueUrl = `${endpoint}/000000000000/commands.fifo`;
    // A key transaction of a text send is a few KB (sender key, session record).
    const keyBody = Buffer.alloc(6_000, 7);
    // A status write of a text (claim, SENT, DELIVERED are this shape).
    const statusUpdate = (returnValues: 'NONE' | 'ALL_NEW') =>
      new UpdateCommand({
        TableName: 'messages',
        Key: { pk: 'MESSAGE#01JEXAMPLE', sk: 'MESSAGE' },
        UpdateExpression: 'SET #status = :s, updatedAt = :now REMOVE claimedBy, claimedAt',
        ConditionExpression: 'attribute_exists(pk) AND #status IN (:q, :p)',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':s': 'SENT', ':now': 'x', ':q': 'QUEUED', ':p': 'PENDING' },
        ReturnValues: returnValues,
      });
    const shapes = (c: typeof configured | typeof sdkDefault): Record<string, () => Promise<unknown>> => ({
      'DynamoDB UpdateItem (claim/status)': () => c.dynamo.send(statusUpdate('ALL_NEW')),
      'S3 PutObject 6 KB (key commit)': () =>
        c.s3.send(new PutObjectCommand({ Bucket: 'auth', Key: 'sess/journal/000001', Body: keyBody })),
      'SQS ReceiveMessage': () =>
        c.sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: queueUrl,
            MaxNumberOfMessages: 10,
            MessageSystemAttributeNames: ['All'],
          }),
        ),
      'SQS DeleteMessageBatch': () =>
        c.sqs.send(
          new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: [{ Id: '0', ReceiptHandle: 'r' }] }),
        ),
    });
    const mine = shapes(configured);
    const theirs = shapes(sdkDefault);
    // Options the runner could take, each against what it has now (same alternation).
    const awsChecksums = new S3Client({
      requestHandler: REQUEST_TIMEOUTS.s3,
      endpoint,
      forcePathStyle: true,
    });
    const update = (returnValues: 'NONE' | 'ALL_NEW') => () =>
      configured.dynamo.send(statusUpdate(returnValues));
    const options: [string, () => Promise<unknown>, () => Promise<unknown>][] = [
      [
        'S3 PutObject 6 KB: checksums WHEN_REQUIRED / SDK default (CRC32)',
        mine['S3 PutObject 6 KB (key commit)'] as () => Promise<unknown>,
        () => awsChecksums.send(new PutObjectCommand({ Bucket: 'auth', Key: 'sess/j/1', Body: keyBody })),
      ],
      ['DynamoDB UpdateItem: ReturnValues NONE / ALL_NEW', update('NONE'), update('ALL_NEW')],
    ];
    const only = process.argv[3];
    const show = (name: string, ms: number[]) =>
      console.log(`${name.padEnd(58)} ${ms.map((m) => m.toFixed(3)).join(' / ')} ms CPU per call`);
    const floor = plainPost(endpoint, JSON.stringify({ Key: ITEM }));
    show('plain http POST (floor), concurrency 1 / 20', [
      await cpuPerCall(n, 1, floor),
      await cpuPerCall(n, 20, floor),
    ]);
    for (const name of Object.keys(mine)) {
      if (only && !name.includes(only)) continue;
      for (const concurrency of [1, 20]) {
        const a: number[] = [];
        const b: number[] = [];
        for (let round = 0; round < 3; round++) {
          a.push(await cpuPerCall(n, concurrency, mine[name] as () => Promise<unknown>));
          b.push(await cpuPerCall(n, concurrency, theirs[name] as () => Promise<unknown>));
        }
        show(`${name}, concurrency ${concurrency}: configured / SDK`, [Math.min(...a), Math.min(...b)]);
      }
    }
    for (const [name, first, second] of options) {
      if (only && !name.includes(only)) continue;
      const a: number[] = [];
      const b: number[] = [];
      for (let round = 0; round < 3; round++) {
        a.push(await cpuPerCall(n, 20, first));
        b.push(await cpuPerCall(n, 20, second));
      }
      show(`${name}, concurrency 20`, [Math.min(...a), Math.min(...b)]);
    }
  } finally {
    child.kill();
  }
};

await main();
