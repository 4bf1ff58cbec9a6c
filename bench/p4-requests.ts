import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { sendAccepted, sleep, waitFor } from '../faults/drive.ts';
import { DynamoTable } from '../shared/adapters/dynamodb-table.ts';
import type { BenchStack } from './bench-stack.ts';
import { linkMany } from './bench-stack.ts';
import { dynamoItemBytes, type RequestCounts, usdPerMillion, writeUnitsOf } from './report.ts';

export interface P4Size {
  outbound: number;
  inbound: number;
}

type Counts = Record<string, number>;

const DYNAMO_READS = ['GetItem', 'Query', 'Scan', 'BatchGetItem', 'TransactGetItems'];
const DYNAMO_WRITES = ['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem', 'TransactWriteItems'];

/** All counters at once: `dynamodb.PutItem`, `sqs.ReceiveMessage`, `s3.PUT`, … */
const snapshot = (b: BenchStack): Counts => {
  const out: Counts = {};
  const add = (prefix: string, counts: Counts) => {
    for (const [k, v] of Object.entries(counts)) out[`${prefix}.${k}`] = v;
  };
  add('dynamodb', b.counters.dynamodb.counts());
  add('dynamodbItems', b.counters.dynamodb.items());
  add('sqs', b.counters.sqs.counts());
  add('s3', b.counters.s3.counts());
  // Which call is which, printed with the progress (not summed into any figure).
  add('call dynamodb', b.counters.dynamodb.details());
  add('call s3', b.counters.s3.details());
  return out;
};

const minus = (a: Counts, b: Counts): Counts =>
  Object.fromEntries(
    [...new Set([...Object.keys(a), ...Object.keys(b)])].map((k) => [k, (a[k] ?? 0) - (b[k] ?? 0)]),
  );

const nonZero = (c: Counts) =>
  Object.entries(c)
    .filter(([k, v]) => v !== 0 && !k.startsWith('call '))
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');

/** The window's calls, one a line, most frequent first (idle ones included). */
const callsOf = (c: Counts) =>
  Object.entries(c)
    .filter(([k, v]) => v !== 0 && k.startsWith('call '))
    .sort(([, a], [, b]) => b - a)
    .map(([k, v]) => `\n  ${v}× ${k.slice(5).replace('.', ' ')}`)
    .join('');

/**
 * Requests per message from a window's counts, less what the idle system does in as long (lease
 * heartbeats and queue polls run whether or not anything is sent), never below zero.
 */
export const perMessage = (
  window: Counts,
  idlePerMs: Counts,
  ms: number,
  messages: number,
): RequestCounts => {
  const net = (k: string) => Math.max(0, (window[k] ?? 0) - (idlePerMs[k] ?? 0) * ms);
  const sum = (ks: string[]) => ks.reduce((n, k) => n + net(k), 0);
  const sqs = sum(Object.keys(window).filter((k) => k.startsWith('sqs.')));
  const reads = sum(DYNAMO_READS.map((o) => `dynamodb.${o}`));
  const writes = sum(DYNAMO_WRITES.map((o) => `dynamodb.${o}`));
  // A request unit per item; a transactional item costs two.
  const readUnits =
    sum(['GetItem', 'Query', 'Scan'].map((o) => `dynamodb.${o}`)) +
    net('dynamodbItems.BatchGetItem') +
    2 * net('dynamodbItems.TransactGetItems');
  const writeUnits =
    sum(['PutItem', 'UpdateItem', 'DeleteItem'].map((o) => `dynamodb.${o}`)) +
    net('dynamodbItems.BatchWriteItem') +
    2 * net('dynamodbItems.TransactWriteItems');
  const round = (n: number) => Math.round((n / messages) * 100) / 100;
  return {
    sqs: round(sqs),
    dynamodbReads: round(reads),
    dynamodbWrites: round(writes),
    s3Puts: round(net('s3.PUT') + net('s3.POST')),
    s3Gets: round(net('s3.GET') + net('s3.HEAD')),
    dynamodbReadUnits: round(readUnits),
    dynamodbWriteUnits: round(writeUnits),
  };
};

/**
 * p4: AWS requests per outbound text (API send until the contact's delivery receipt is stored) and
 * per inbound text answered by the offline AI (until the reply's receipt is stored), counted at the
 * stand-ins, each less the idle system's requests in as long; priced with report.ts's prices.
 */
export const p4Requests = async (b: BenchStack, size: P4Size, progress: (line: string) => void) => {
  const { stack } = b;
  const [l] = await linkMany(stack, 'p4', 0, 1, 4915400000000);
  if (!l) throw new Error('no session linked');
  const ai = await stack.call('PUT', '/chatbots/p4-0', { aiEnabled: true });
  if (ai.status !== 200) throw new Error(`turning AI on answered ${ai.status}`);
  const { startIncomingAi } = await import('./incoming-ai.ts');
  const stopAi = await startIncomingAi();
  try {
    await sleep(3000); // the link's own writes settle
    const idleStart = snapshot(b);
    const idleT = Date.now();
    await sleep(10_000);
    const idleMs = Date.now() - idleT;
    const idle = minus(snapshot(b), idleStart);
    const idlePerMs = Object.fromEntries(Object.entries(idle).map(([k, v]) => [k, v / idleMs]));
    progress(`p4: idle for ${Math.round(idleMs / 1000)} s, counted: ${nonZero(idle)}`);
    progress(`p4: idle calls: ${callsOf(idle)}`);

    // At the contact, then (receipts included) DELIVERED in storage; on a loaded machine a few may
    // stay SENT, which is reported, not waited on for ever.
    const delivered = async (ids: string[], texts: string[]) => {
      await waitFor(
        'every text at the contact',
        () => texts.every((t) => stack.sim.inbox(l.contact).some((m) => m.text === t)),
        120_000,
      );
      const notDelivered = async () =>
        (await Promise.all(ids.map((id) => b.uncountedMessages.get(id)))).filter(
          (m) => m?.status !== 'DELIVERED' && m?.status !== 'READ',
        ).length;
      await waitFor('every message DELIVERED', async () => (await notDelivered()) === 0, 30_000).catch(
        async () =>
          progress(`p4: ${await notDelivered()} of ${ids.length} not DELIVERED in storage after 30 s`),
      );
    };

    let start = snapshot(b);
    let t = Date.now();
    const ids: string[] = [];
    const texts = Array.from({ length: size.outbound }, (_, i) => `p4 out ${i}`);
    for (const text of texts) ids.push(await sendAccepted(stack, l, text));
    await delivered(ids, texts);
    await sleep(2000); // receipts' late writes
    let window = minus(snapshot(b), start);
    const perOutbound = perMessage(window, idlePerMs, Date.now() - t, size.outbound);
    const outboundMessageWrites = messageItemWrites(window) / size.outbound;
    progress(`p4: ${size.outbound} outbound, counted: ${nonZero(window)}`);
    progress(`p4: outbound calls: ${callsOf(window)}`);

    start = snapshot(b);
    t = Date.now();
    for (let i = 0; i < size.inbound; i++) {
      await stack.sim.sendText(l.contact, l.phone, `p4 in ${i}`);
      await waitFor(
        `the AI reply to p4 in ${i}`,
        () => stack.sim.inbox(l.contact).some((m) => m.text.endsWith(`Echo: p4 in ${i}`)),
        120_000,
      );
    }
    await sleep(3000); // the replies' receipts
    window = minus(snapshot(b), start);
    const perInbound = perMessage(window, idlePerMs, Date.now() - t, size.inbound);
    progress(`p4: ${size.inbound} inbound, counted: ${nonZero(window)}`);
    progress(`p4: inbound calls: ${callsOf(window)}`);
    const messageItem = await messageItemSize(b, ids.at(-1) as string);
    progress(`p4: a delivered text's stored item: ${JSON.stringify(messageItem)}`);
    const { dynamodbReadUnits: _r, dynamodbWriteUnits: _w, ...outbound } = perOutbound;
    const { dynamodbReadUnits: _ri, dynamodbWriteUnits: _wi, ...inbound } = perInbound;
    return {
      perOutbound: outbound,
      perInbound: inbound,
      usdPerMillionOutbound: Math.round(usdPerMillion(perOutbound) * 100) / 100,
      usdPerMillionInbound: Math.round(usdPerMillion(perInbound) * 100) / 100,
      messageItem,
      // The same sends with the longest text: every write of the message item costs its size.
      usdPerMillionOutboundWith4096CharText:
        Math.round(
          usdPerMillion({
            ...perOutbound,
            dynamodbWriteUnits:
              (perOutbound.dynamodbWriteUnits ?? perOutbound.dynamodbWrites) +
              (messageItem.writeUnitsWith4096CharText - messageItem.writeUnits) * outboundMessageWrites,
          }) * 100,
        ) / 100,
    };
  } finally {
    await stopAi();
  }
};

/**
 * Write units a window spent on message items at one unit per item: each UpdateItem of one, each
 * transaction's put of one twice (the counting proxy labels calls `UpdateItem Messages MESSAGE#`).
 */
const messageItemWrites = (window: Counts): number =>
  Object.entries(window).reduce((n, [k, v]) => {
    if (k === 'call dynamodb.UpdateItem Messages MESSAGE#') return n + v;
    if (k.startsWith('call dynamodb.TransactWriteItems Put Messages MESSAGE#')) return n + 2 * v;
    return n;
  }, 0);

/** The API's longest text (DESIGN: `message` 1-4096 characters). */
const MAX_TEXT_CHARS = 4096;

/**
 * The stored item of a delivered text, as DynamoDB bills its writes: its size, and the size it would
 * have with the longest text the API takes. The counts above price one unit per item written; an
 * item over 1 KB costs one unit per KB started on every write (claim and status updates included).
 * Read after the counted windows.
 */
const messageItemSize = async (b: BenchStack, messageId: string) => {
  const client = new DynamoDBClient({ endpoint: b.stack.runnerEnv.DYNAMODB_ENDPOINT });
  try {
    const table = new DynamoTable(
      DynamoDBDocumentClient.from(client),
      b.stack.runnerEnv.MESSAGES_TABLE as string,
    );
    const item = await table.get<Record<string, unknown>>({ pk: `MESSAGE#${messageId}` });
    if (!item) throw new Error(`message ${messageId} not stored`);
    const bytes = dynamoItemBytes(item);
    const longest = dynamoItemBytes({ ...item, text: 'x'.repeat(MAX_TEXT_CHARS) });
    return {
      bytes,
      writeUnits: writeUnitsOf(bytes),
      bytesWith4096CharText: longest,
      writeUnitsWith4096CharText: writeUnitsOf(longest),
    };
  } finally {
    client.destroy();
  }
};
