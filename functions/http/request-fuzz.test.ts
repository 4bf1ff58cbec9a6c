import { createHash, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalApi, startLocalApi } from '#local/api-gateway.ts';
import { DynamoConversationStore } from '#shared/adapters/dynamodb-conversation-store.ts';
import { DynamoSessionStore } from '#shared/adapters/dynamodb-session-store.ts';
import { DynamoTable } from '#shared/adapters/dynamodb-table.ts';
import { DynamoTenantStore } from '#shared/adapters/dynamodb-tenant-store.ts';
import { S3MediaStore } from '#shared/adapters/s3-media-store.ts';
import { deriveId } from '#shared/domain/ids.ts';
import { systemClock } from '#shared/ports/clock.ts';
import { provisionTestAws, type TestAws } from '#shared/testing/aws-test-env.ts';
import { aMessage } from '#shared/testing/builders.ts';
import { createTenant } from '#shared/use-cases/tenants.ts';
import type * as z from '#shared/zod.ts';
import { ROUTES, type RouteDefinition } from './routes.ts';

// Generated requests over every route of the route table, through the local API gateway, the
// authorizer and the handlers, on DynamoDB Local: every string input (path parameters, query
// parameters, cursors, body fields, headers, the key) gets hostile values. Never a 5xx, and a
// refused request (400, 401, 404, 405, 413, 415) leaves every table exactly as it was.

const PER_ROUTE = 45; // 17 routes → 765 requests
const UNCHANGED_ON = new Set([400, 401, 404, 405, 413, 415]);

let aws: TestAws;
let api: LocalApi;
let keyA: string;
let keyB: string;
const ids = {
  session: '',
  conversation: '',
  message: '',
  otherConversation: '',
  foreignSession: '',
  doomedSession: '',
  webhook: '',
  doomedWebhook: '',
  media: randomUUID(),
};
const cursors: string[] = [];

beforeAll(async () => {
  aws = await provisionTestAws();
  Object.assign(process.env, aws.env, {
    // Limits out of the way: a 429 is not what this test looks for.
    SEND_RATE_PER_MINUTE: '100000',
    INIT_RATE_PER_MINUTE: '100000',
    SESSIONS_PER_TENANT: '100000',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
  });
  api = await startLocalApi({ port: 0 });
  const tenants = new DynamoTenantStore(new DynamoTable(aws.clients.dynamo, aws.env.TENANTS_TABLE as string));
  const a = await createTenant({ tenants, clock: systemClock }, 'Fuzz A');
  keyA = a.apiKey;
  keyB = (await createTenant({ tenants, clock: systemClock }, 'Fuzz B')).apiKey;
  // A file of tenant A, as the runner stores one, for the media route.
  await new S3MediaStore(aws.clients.s3, aws.env.AUTH_STATE_BUCKET as string).put(
    a.tenant.tenantId,
    ids.media,
    Readable.from([Buffer.from('fuzz')]),
    { mimeType: 'text/plain', size: 4, sha256: createHash('sha256').update('fuzz').digest('hex') },
  );
  const init = async (key: string, chatbotId: string) =>
    (
      (await (
        await fetch(`${api.url}/whatsapp-qr/init`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body: JSON.stringify({ chatbotId }),
        })
      ).json()) as { sessionId: string }
    ).sessionId;
  ids.session = await init(keyA, 'fuzz-bot');
  ids.foreignSession = await init(keyB, 'fuzz-bot');
  ids.doomedSession = await init(keyA, 'fuzz-doomed');
  const webhook = async () =>
    (
      (await (
        await fetch(`${api.url}/whatsapp-qr/webhooks`, {
          method: 'POST',
          headers: { authorization: `Bearer ${keyA}`, 'content-type': 'application/json' },
          body: JSON.stringify({ url: 'https://93.184.216.34/fuzz' }),
        })
      ).json()) as { webhookId: string }
    ).webhookId;
  ids.webhook = await webhook();
  ids.doomedWebhook = await webhook();
  const now = new Date().toISOString();
  await new DynamoSessionStore(
    new DynamoTable(aws.clients.dynamo, aws.env.SESSIONS_TABLE as string),
  ).transition(ids.session, { to: 'CONNECTED', fields: { phoneNumber: '4915100000001' }, now });

  // Two conversations of A's session, three messages each: real cursors of real lists to tamper with.
  const conversations = new DynamoConversationStore(aws.clients.dynamo, {
    messages: aws.env.MESSAGES_TABLE as string,
    usage: aws.env.USAGE_TABLE as string,
  });
  for (const [i, peer] of ['4915100000011@s.whatsapp.net', '4915100000012@s.whatsapp.net'].entries()) {
    const conversationId = deriveId('conv', ids.session, peer);
    for (let minute = 1; minute <= 3; minute++) {
      const message = aMessage({
        tenantId: a.tenant.tenantId,
        sessionId: ids.session,
        conversationId,
        direction: 'in',
        from: peer,
        createdAt: `2026-02-01T09:0${minute}:0${i}.000Z`,
      });
      await conversations.appendMessage({ message, peer, usage: { messagesIn: 1 }, now: message.createdAt });
      ids.message = message.messageId;
    }
    if (i === 0) ids.conversation = conversationId;
    else ids.otherConversation = conversationId;
  }
  const get = async (path: string) =>
    (await (await fetch(`${api.url}${path}`, { headers: { authorization: `Bearer ${keyA}` } })).json()) as {
      nextCursor?: string;
    };
  const messagesCursor = (await get(`/whatsapp-qr/conversations/${ids.conversation}/messages?limit=1`))
    .nextCursor as string;
  const otherCursor = (await get(`/whatsapp-qr/conversations/${ids.otherConversation}/messages?limit=1`))
    .nextCursor as string;
  const conversationsCursor = (await get(`/whatsapp-qr/conversations?sessionId=${ids.session}&limit=1`))
    .nextCursor as string;
  const key = (k: unknown) => Buffer.from(JSON.stringify(k)).toString('base64url');
  const decoded = JSON.parse(Buffer.from(messagesCursor, 'base64url').toString('utf8'));
  cursors.push(
    messagesCursor,
    otherCursor, // another conversation's: foreign to every other list
    conversationsCursor,
    key({ ...decoded, gsi1sk: `${decoded.gsi1sk}${'a'.repeat(1100)}` }), // over DynamoDB's 1024 bytes
    key({ ...decoded, gsi1sk: `2026-02-01T09:01:00.000Z#${ids.foreignSession}` }),
    key({ ...decoded, gsi1pk: `CONV#${ids.otherConversation}` }),
    key({ ...decoded, pk: 'SESSION#x' }),
    key({ ...decoded, extra: 1 }),
    key({ after: 'x' }),
    key([]),
    key({ pk: 1, gsi1pk: null, gsi1sk: {} }),
    messagesCursor.slice(0, -3),
    `${messagesCursor}==`,
    'A'.repeat(3000),
    '!!!',
  );
  expect(cursors.slice(0, 3).every((c) => typeof c === 'string' && c.length > 0)).toBe(true);
});
afterAll(async () => {
  await api?.close();
  aws?.destroy();
});

/** Deterministic, so a failure can be replayed. */
const prng = (seed: number) => () => {
  seed = (seed * 1103515245 + 12345) % 2 ** 31;
  return seed / 2 ** 31;
};
const random = prng(20261203);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T;

const hostileStrings = (): string[] => [
  '',
  ' ',
  'x'.repeat(300),
  'x'.repeat(5000),
  '💥'.repeat(200),
  '\u0000',
  '%00',
  '../../etc/passwd',
  "' OR 1=1 --",
  '{"$ne":null}',
  '<script>alert(1)</script>',
  'null',
  '-1',
  '1e308',
  'NaN',
  'Ａｂｃ',
  'a'.repeat(129),
  '00000000-0000-4000-8000-000000000000',
  'ZZZZZZZZ-0000-4000-8000-000000000000',
  '+4915100000001',
  '4915100000001@s.whatsapp.net',
  '2026-02-30',
  '9999-12-31',
  'SESSION#x',
  ids.session,
  ids.foreignSession,
  ids.conversation,
  ids.message,
  'fuzz-bot',
  'offline',
  'openai:gpt-4o',
  ...cursors,
];
const nonStrings: unknown[] = [null, true, false, 0, -1, 1e308, {}, [], { a: 1 }, ['x']];

/** A request that passes validation, per route: the fuzzer then breaks one or more of its inputs. */
const templates = (): Record<
  string,
  { params?: Record<string, string>; query?: Record<string, string>; body?: Record<string, unknown> }
> => ({
  InitSession: { body: { chatbotId: 'fuzz-init' } },
  GetQrCode: { params: { sessionId: ids.session }, query: { format: 'json' } },
  GetStatus: { params: { sessionId: ids.session } },
  SendMessage: { body: { sessionId: ids.session, to: '+4915100000002', message: 'hello' } },
  GetMessage: { params: { messageId: ids.message } },
  Disconnect: { body: { sessionId: ids.session, logout: false } },
  GetSessionByChatbot: { params: { chatbotId: 'fuzz-bot' } },
  UpsertChatbot: { params: { chatbotId: 'fuzz-bot' }, body: { name: 'Fuzz', model: 'offline' } },
  ListConversations: { query: { sessionId: ids.session, limit: '2', cursor: cursors[2] as string } },
  ListConversationMessages: {
    params: { conversationId: ids.conversation },
    query: { limit: '1', cursor: cursors[0] as string },
  },
  GetUsage: { query: { from: '2026-02-01', to: '2026-02-02' } },
  ListSessions: { query: { status: 'CONNECTED', chatbotId: 'fuzz-bot', limit: '2' } },
  DeleteSession: { params: { sessionId: ids.doomedSession }, query: { purge: 'false' } },
  ListChatbots: { query: { limit: '2' } },
  GetChatbot: { params: { chatbotId: 'fuzz-bot' } },
  DeleteChatbot: { params: { chatbotId: 'fuzz-bot' } }, // 409: it has a session
  GetOpenApi: {},
  CreateWebhook: { body: { url: 'https://93.184.216.34/fuzz', events: ['message.received'] } },
  ListWebhooks: {},
  DeleteWebhook: { params: { webhookId: ids.doomedWebhook } },
  TestWebhook: { params: { webhookId: ids.webhook } },
  ListWebhookDeliveries: { params: { webhookId: ids.webhook }, query: { limit: '2' } },
  GetMedia: { params: { mediaId: ids.media }, query: { format: 'json' } },
  CreateMediaUpload: { body: { mimeType: 'application/pdf', fileName: 'fuzz.pdf', size: 1000 } },
});

const keysOf = (schema: z.ZodMiniType | undefined): string[] =>
  schema && 'shape' in schema ? Object.keys((schema as z.ZodMiniObject).shape) : [];

interface Generated {
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: string;
}

/** One request for the route: each input kept, broken, or dropped; sometimes another method or key. */
const generate = (route: RouteDefinition): Generated => {
  const template = templates()[route.id] ?? {};
  const strings = hostileStrings();
  const mutate = (value: string) => (random() < 0.55 ? pick(strings) : value);
  const params = Object.fromEntries(
    [...route.path.matchAll(/\{(\w+)\}/g)].map(([, name]) => [
      name,
      mutate(template.params?.[name as string] ?? 'x'),
    ]),
  );
  // Deleting the session every other route works on would turn them all into 404s: only its own.
  if (route.id === 'DeleteSession' && params.sessionId === ids.session) params.sessionId = ids.doomedSession;
  if (route.id === 'DeleteWebhook' && params.webhookId === ids.webhook) params.webhookId = ids.doomedWebhook;
  const path = route.path.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(params[name] ?? ''));
  const query = new URLSearchParams();
  for (const name of new Set([...keysOf(route.request.query), 'cursor'])) {
    const value = template.query?.[name];
    if (random() < 0.15) continue; // dropped
    if (value !== undefined || random() < 0.3) query.append(name, mutate(value ?? pick(strings)));
    if (random() < 0.05) query.append(name, pick(strings)); // repeated
  }
  const headers: Record<string, string> = {};
  const key = random();
  if (key < 0.8) headers.authorization = `Bearer ${keyA}`;
  else if (key < 0.88) headers.authorization = `Bearer ${keyB}`;
  // Header values must be bytes a client can send: hostile, but URL-encoded.
  else if (key < 0.94) headers.authorization = `Bearer ${encodeURIComponent(pick(strings)).slice(0, 4000)}`;
  for (const name of Object.keys(route.request.headers ?? {})) {
    if (random() < 0.5) headers[name] = encodeURIComponent(pick(strings)).slice(0, 4000) || 'k';
  }
  let body: string | undefined;
  if (route.request.body || random() < 0.1) {
    const fields: Record<string, unknown> = { ...(template.body ?? {}) };
    for (const name of keysOf(route.request.body)) {
      const r = random();
      if (r < 0.3) fields[name] = pick(strings);
      else if (r < 0.45) fields[name] = pick(nonStrings);
      else if (r < 0.55) delete fields[name];
    }
    if (random() < 0.1) fields[pick(['extra', '__proto__', 'constructor'])] = pick(strings);
    const shape = random();
    body =
      shape < 0.8
        ? JSON.stringify(fields)
        : shape < 0.85
          ? '{"chatbotId":'
          : shape < 0.9
            ? JSON.stringify(pick(nonStrings))
            : shape < 0.95
              ? JSON.stringify({ ...fields, pad: 'x'.repeat(70_000) }) // over the 64 KiB limit
              : pick(strings);
    headers['content-type'] = pick([
      'application/json',
      'application/json; charset=utf-8',
      'text/plain',
      'application/x-www-form-urlencoded',
    ]);
  }
  const method = random() < 0.08 ? pick(['GET', 'POST', 'PUT', 'DELETE', 'PATCH']) : route.method;
  return {
    method,
    url: `${api.url}${path}${query.size > 0 ? `?${query}` : ''}`,
    headers,
    ...(body !== undefined && method !== 'GET' && { body }),
  };
};

/** A digest of every item of every table of the test (the limits' counters included). */
const tablesDigest = async (): Promise<string> => {
  const names = Object.entries(aws.env)
    .filter(([k]) => k.endsWith('_TABLE'))
    .map(([, v]) => v)
    .sort();
  // The tables are scanned at the same time (one scan after another made most of the test's time),
  // and hashed in name order.
  const tables = await Promise.all(
    names.map(async (TableName) => {
      const out = await aws.clients.dynamo.send(new ScanCommand({ TableName, ConsistentRead: true }));
      const items = (out.Items ?? []).map((item) => JSON.stringify(item, Object.keys(item).sort())).sort();
      expect(out.LastEvaluatedKey, TableName).toBeUndefined();
      return `${TableName}\n${items.join('\n')}\n`;
    }),
  );
  const hash = createHash('sha256');
  for (const table of tables) hash.update(table);
  return hash.digest('hex');
};

describe('request fuzz', () => {
  it(`never answers 5xx over ${PER_ROUTE} generated requests per route, and a refused one writes nothing`, async () => {
    const byRoute = new Map<string, Map<number, number>>();
    // The tables are digested only where a write could hide another: before a request that may
    // write (any method but GET) while requests that must not have written wait for their check,
    // and after such a request that was accepted (its writes are the new baseline). A refused
    // request, and a read, are checked at the next digest, with the others since the last one
    // (a scan after each of the ~1,000 requests made most of the test's time, on the JVM every
    // other integration file shares).
    let before = await tablesDigest();
    let unchecked: string[] = [];
    const check = async () => {
      if (unchecked.length === 0) return;
      expect(await tablesDigest(), `a refused request or a read wrote:\n${unchecked.join('\n')}`).toBe(
        before,
      );
      unchecked = [];
    };
    let total = 0;
    for (let round = 0; round < PER_ROUTE; round++) {
      for (const route of ROUTES) {
        const request = generate(route);
        const mayWrite = request.method !== 'GET';
        if (mayWrite) await check();
        const response = await fetch(request.url, {
          method: request.method,
          headers: request.headers,
          ...(request.body !== undefined && { body: request.body }),
        }).catch((error: Error) => ({ status: 0, error: `${error.message} ${String(error.cause ?? '')}` }));
        total++;
        const failure = 'error' in response ? response.error : '';
        const what = `${request.method} ${request.url.slice(0, 300)} ${request.body?.slice(0, 300) ?? ''} ${JSON.stringify(request.headers).slice(0, 300)} ${failure}`;
        expect(response.status, what).toBeGreaterThanOrEqual(200);
        expect(response.status, what).toBeLessThan(500);
        const statuses = byRoute.get(route.id) ?? new Map<number, number>();
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
        byRoute.set(route.id, statuses);
        if (UNCHANGED_ON.has(response.status) || !mayWrite) unchecked.push(`${response.status}: ${what}`);
        else before = await tablesDigest();
      }
    }
    await check();
    expect(total).toBeGreaterThanOrEqual(500);
    // Each route was reached past validation at least once, and refused for bad input at least once.
    for (const route of ROUTES) {
      const statuses = [...(byRoute.get(route.id)?.keys() ?? [])];
      expect(
        statuses.some((s) => !UNCHANGED_ON.has(s)),
        `${route.id}: ${statuses}`,
      ).toBe(true);
      const hasInput = route.path.includes('{') || route.request.query || route.request.body;
      if (hasInput) expect(statuses.includes(400), `${route.id}: ${statuses}`).toBe(true);
    }
  }, 300_000);

  it('answers every tampered or foreign cursor on both listings with 400 INVALID_CURSOR, writing nothing', async () => {
    const before = await tablesDigest();
    const lists = [
      { path: `/whatsapp-qr/conversations/${ids.conversation}/messages?limit=1`, valid: cursors[0] },
      { path: `/whatsapp-qr/conversations?sessionId=${ids.session}&limit=1`, valid: cursors[2] },
    ];
    for (const { path, valid } of lists) {
      for (const cursor of cursors) {
        const res = await fetch(`${api.url}${path}&cursor=${encodeURIComponent(cursor)}`, {
          headers: { authorization: `Bearer ${keyA}` },
        });
        const body = (await res.json()) as { error?: { code: string }; items?: unknown[] };
        if (cursor === valid) expect([res.status, body.items?.length], path).toEqual([200, 1]);
        else
          expect([res.status, body.error?.code], `${path} ${cursor.slice(0, 80)}`).toEqual([
            400,
            'INVALID_CURSOR',
          ]);
      }
      // The list's own cursor in another tenant's hands: that tenant cannot even see the list.
      const foreign = await fetch(`${api.url}${path}&cursor=${encodeURIComponent(valid as string)}`, {
        headers: { authorization: `Bearer ${keyB}` },
      });
      expect(foreign.status).toBe(404);
    }
    expect(await tablesDigest()).toBe(before);
  });
});
