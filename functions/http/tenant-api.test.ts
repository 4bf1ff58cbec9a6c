import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalApi, startLocalApi } from '#local/api-gateway.ts';
import { DynamoLeaseStore } from '#shared/adapters/dynamodb-lease-store.ts';
import { DynamoSessionStore } from '#shared/adapters/dynamodb-session-store.ts';
import { DynamoTable } from '#shared/adapters/dynamodb-table.ts';
import { DynamoTenantStore } from '#shared/adapters/dynamodb-tenant-store.ts';
import { systemClock } from '#shared/ports/clock.ts';
import { provisionTestAws, type TestAws } from '#shared/testing/aws-test-env.ts';
import { drainQueue } from '#shared/testing/sqs-drain.ts';
import { createTenant } from '#shared/use-cases/tenants.ts';
import { ROUTES } from './routes.ts';

// The tenant API over real HTTP: local API gateway → authorizer → middy handlers → DynamoDB Local and SQS stand-ins.

let aws: TestAws;
let api: LocalApi;
let keyA: string;
let keyB: string;
let sessions: DynamoSessionStore;
let leases: DynamoLeaseStore;
// The tests play the runner: they write statuses, so they hold the shard's lease as a runner would.
const holdShard = () => leases.acquire(0, 'test-runner', Date.now(), 3_600_000);

beforeAll(async () => {
  aws = await provisionTestAws();
  Object.assign(process.env, aws.env, {
    SEND_RATE_PER_MINUTE: '5',
    // These tests make many inits with one key; the init limits have tests of their own (limits.test.ts).
    INIT_RATE_PER_MINUTE: '1000',
    SESSIONS_PER_TENANT: '1000',
    POWERTOOLS_LOG_LEVEL: 'ERROR',
  });
  api = await startLocalApi({ port: 0 });
  const tenants = new DynamoTenantStore(new DynamoTable(aws.clients.dynamo, aws.env.TENANTS_TABLE as string));
  keyA = (await createTenant({ tenants, clock: systemClock }, 'Tenant A')).apiKey;
  keyB = (await createTenant({ tenants, clock: systemClock }, 'Tenant B')).apiKey;
  sessions = new DynamoSessionStore(new DynamoTable(aws.clients.dynamo, aws.env.SESSIONS_TABLE as string));
  leases = new DynamoLeaseStore(new DynamoTable(aws.clients.dynamo, aws.env.LEASES_TABLE as string));
  await holdShard();
});
afterAll(async () => {
  await api?.close();
  aws?.destroy();
});

const call = async (
  method: string,
  path: string,
  options: { key?: string | null; body?: unknown; raw?: string; headers?: Record<string, string> } = {},
) => {
  const key = options.key === undefined ? keyA : options.key;
  const response = await fetch(`${api.url}${path}`, {
    method,
    headers: {
      ...(key && { authorization: `Bearer ${key}` }),
      ...((options.body !== undefined || options.raw !== undefined) && {
        'content-type': 'application/json',
      }),
      ...options.headers,
    },
    ...(options.body !== undefined && { body: JSON.stringify(options.body) }),
    ...(options.raw !== undefined && { body: options.raw }),
  });
  const type = response.headers.get('content-type') ?? '';
  // biome-ignore lint/suspicious/noExplicitAny: test assertions walk arbitrary JSON
  const body: any = type.includes('json') ? await response.json() : Buffer.from(await response.arrayBuffer());
  return { status: response.status, body, headers: response.headers };
};

const init = async (chatbotId: string, key = keyA) =>
  call('POST', '/whatsapp-qr/init', { key, body: { chatbotId } });
const connect = async (sessionId: string) => {
  const now = new Date().toISOString();
  await sessions.transition(sessionId, {
    to: 'CONNECTED',
    fields: { phoneNumber: '4915100000001', connectedAt: now },
    now,
  });
};

const drainCommands = () => drainQueue(aws.clients.sqs, aws.env.COMMAND_QUEUE_URLS?.split(',')[0]);

describe('authentication', () => {
  it('answers 401 without a key, with an unknown key, and accepts x-api-key', async () => {
    const missing = await call('GET', '/whatsapp-qr/openapi.json', { key: null });
    expect(missing.status).toBe(401);
    expect(missing.body).toEqual({ error: { code: 'UNAUTHORIZED', message: expect.any(String) } });
    expect((await call('GET', '/whatsapp-qr/openapi.json', { key: 'wqg_nope' })).status).toBe(401);
    const viaHeader = await call('GET', '/whatsapp-qr/openapi.json', {
      key: null,
      headers: { 'x-api-key': keyA },
    });
    expect(viaHeader.status).toBe(200);
  });

  it('checks the key before the body', async () => {
    const res = await call('POST', '/whatsapp-qr/init', { key: null, raw: '{bad' });
    expect(res.status).toBe(401);
  });
});

describe('POST /whatsapp-qr/init', () => {
  it('creates a session with its chatbot (201), enqueues a start, and re-init returns the same session (200)', async () => {
    await drainCommands();
    const first = await init('support-bot');
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ chatbotId: 'support-bot', status: 'CONNECTING' });
    expect(first.body.sessionId).toMatch(/^[0-9a-f-]{36}$/);
    const commands = await drainCommands();
    expect(commands).toEqual([
      expect.objectContaining({
        v: 1,
        type: 'start',
        sessionId: first.body.sessionId,
        group: first.body.sessionId,
      }),
    ]);

    const again = await init('support-bot');
    expect(again.status).toBe(200);
    expect(again.body.sessionId).toBe(first.body.sessionId);

    const byChatbot = await call('GET', '/whatsapp-qr/session/support-bot');
    expect(byChatbot.status).toBe(200);
    expect(byChatbot.body).toMatchObject({
      sessionId: first.body.sessionId,
      chatbot: { chatbotId: 'support-bot', aiEnabled: false, sessionId: first.body.sessionId },
    });
  });

  it('answers 409 ALREADY_CONNECTED for a connected session', async () => {
    const { body } = await init('connected-bot');
    await connect(body.sessionId);
    const res = await init('connected-bot');
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('ALREADY_CONNECTED');
  });

  it('lists every invalid field, and stores nothing', async () => {
    const res = await call('POST', '/whatsapp-qr/init', {
      body: { chatbotId: 'bad id!', pairingPhoneNumber: 'abc', extra: 1 },
    });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('VALIDATION_FAILED');
    const paths = res.body.error.details.map((d: { path: string }) => d.path);
    expect(paths).toEqual(expect.arrayContaining(['body.chatbotId', 'body.pairingPhoneNumber', 'body']));
    expect((await call('GET', '/whatsapp-qr/session/bad')).status).toBe(404);
  });

  it('reports a missing body as the missing fields', async () => {
    const res = await call('POST', '/whatsapp-qr/init');
    expect(res.status).toBe(400);
    expect(res.body.error.details).toEqual([{ path: 'body.chatbotId', message: expect.any(String) }]);
  });

  it('answers 400 MALFORMED_JSON, 415 for another content type and 413 over 64 KiB', async () => {
    const malformed = await call('POST', '/whatsapp-qr/init', { raw: '{"chatbotId":' });
    expect([malformed.status, malformed.body.error.code]).toEqual([400, 'MALFORMED_JSON']);
    const wrongType = await call('POST', '/whatsapp-qr/init', {
      raw: 'chatbotId=x',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect([wrongType.status, wrongType.body.error.code]).toEqual([415, 'UNSUPPORTED_MEDIA_TYPE']);
    const big = await call('POST', '/whatsapp-qr/init', {
      body: { chatbotId: 'x', pad: 'a'.repeat(70_000) },
    });
    expect([big.status, big.body.error.code]).toEqual([413, 'PAYLOAD_TOO_LARGE']);
  });
});

describe('tenant isolation', () => {
  it("answers 404 for another tenant's session, message and chatbot, never its data", async () => {
    const { body } = await init('private-bot');
    await connect(body.sessionId);
    const sent = await call('POST', '/whatsapp-qr/send', {
      body: { sessionId: body.sessionId, to: '+4915112345678', message: 'hi' },
    });
    expect(sent.status).toBe(202);
    for (const path of [
      `/whatsapp-qr/status/${body.sessionId}`,
      `/whatsapp-qr/qr-code/${body.sessionId}`,
      `/whatsapp-qr/messages/${sent.body.messageId}`,
      '/whatsapp-qr/session/private-bot',
    ]) {
      const res = await call('GET', path, { key: keyB });
      expect(res.status, path).toBe(404);
      expect(JSON.stringify(res.body)).not.toContain(body.sessionId);
    }
    const send = await call('POST', '/whatsapp-qr/send', {
      key: keyB,
      body: { sessionId: body.sessionId, to: '4915112345678', message: 'x' },
    });
    expect(send.status).toBe(404);
    const disconnect = await call('POST', '/whatsapp-qr/disconnect', {
      key: keyB,
      body: { sessionId: body.sessionId },
    });
    expect(disconnect.status).toBe(404);
    // The other tenant can use the same chatbot id for a chatbot of its own.
    const own = await init('private-bot', keyB);
    expect(own.status).toBe(201);
    expect(own.body.sessionId).not.toBe(body.sessionId);
  });
});

describe('GET /whatsapp-qr/status and /qr-code', () => {
  it('never shows CONNECTED while no runner holds the session: CONNECTING with RUNNER_UNAVAILABLE', async () => {
    const { body } = await init('orphan-bot');
    await connect(body.sessionId);
    const lease = await leases.get(0);
    await leases.release(lease as NonNullable<typeof lease>);
    try {
      const status = await call('GET', `/whatsapp-qr/status/${body.sessionId}`);
      expect(status.body).toMatchObject({ status: 'CONNECTING', lastError: 'RUNNER_UNAVAILABLE' });
      const byChatbot = await call('GET', '/whatsapp-qr/session/orphan-bot');
      expect(byChatbot.body).toMatchObject({ status: 'CONNECTING', lastError: 'RUNNER_UNAVAILABLE' });
    } finally {
      await holdShard();
    }
    expect((await call('GET', `/whatsapp-qr/status/${body.sessionId}`)).body.status).toBe('CONNECTED');
  });

  it('shows the status, and the QR as JSON, PNG and SVG once the runner stored one', async () => {
    const { body } = await init('qr-bot');
    const status = await call('GET', `/whatsapp-qr/status/${body.sessionId}`);
    expect(status.body).toMatchObject({
      sessionId: body.sessionId,
      chatbotId: 'qr-bot',
      status: 'CONNECTING',
    });
    const notReady = await call('GET', `/whatsapp-qr/qr-code/${body.sessionId}`);
    expect([notReady.status, notReady.body.error.code]).toEqual([409, 'QR_NOT_READY']);

    const expiresAt = new Date(Date.now() + 60_000).toISOString();
    const qr = '2@ref,noise,identity,adv,1';
    await sessions.transition(body.sessionId, {
      to: 'QR_READY',
      fields: { qr, qrExpiresAt: expiresAt },
      now: new Date().toISOString(),
    });
    const json = await call('GET', `/whatsapp-qr/qr-code/${body.sessionId}`);
    expect(json.body).toEqual({
      sessionId: body.sessionId,
      status: 'QR_READY',
      qr,
      qrCode: expect.stringMatching(/^data:image\/png;base64,/),
      expiresAt,
    });
    const png = await call('GET', `/whatsapp-qr/qr-code/${body.sessionId}`, {
      headers: { accept: 'image/png' },
    });
    expect(png.headers.get('content-type')).toBe('image/png');
    expect((png.body as Buffer).subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
    const svg = await call('GET', `/whatsapp-qr/qr-code/${body.sessionId}?format=svg`);
    expect(svg.headers.get('content-type')).toBe('image/svg+xml');
    expect((svg.body as Buffer).toString()).toContain('<svg');
    const badFormat = await call('GET', `/whatsapp-qr/qr-code/${body.sessionId}?format=gif`);
    expect([badFormat.status, badFormat.body.error.details[0].path]).toEqual([400, 'query.format']);
  });

  it('answers 400 for a malformed id and 404 for an unknown one', async () => {
    const bad = await call('GET', '/whatsapp-qr/status/not-a-uuid');
    expect([bad.status, bad.body.error.details[0].path]).toEqual([400, 'path.sessionId']);
    const unknown = await call('GET', '/whatsapp-qr/status/00000000-0000-4000-8000-000000000000');
    expect([unknown.status, unknown.body.error.code]).toEqual([404, 'SESSION_NOT_FOUND']);
  });
});

describe('POST /whatsapp-qr/send', () => {
  it('answers 409 SESSION_NOT_CONNECTED and stores nothing', async () => {
    const { body } = await init('idle-bot');
    const res = await call('POST', '/whatsapp-qr/send', {
      body: { sessionId: body.sessionId, to: '4915112345678', message: 'hi' },
    });
    expect([res.status, res.body.error.code]).toEqual([409, 'SESSION_NOT_CONNECTED']);
  });

  it('queues a send command and reports the message', async () => {
    const { body } = await init('sender-bot');
    await connect(body.sessionId);
    await drainCommands();
    const res = await call('POST', '/whatsapp-qr/send', {
      body: { sessionId: body.sessionId, to: '+4915112345678', message: 'Hello' },
    });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ messageId: expect.any(String), status: 'QUEUED' });
    const [command] = await drainCommands();
    expect(command).toMatchObject({
      type: 'send',
      messageId: res.body.messageId,
      to: '4915112345678@s.whatsapp.net',
      text: 'Hello',
    });
    const message = await call('GET', `/whatsapp-qr/messages/${res.body.messageId}`);
    expect(message.body).toMatchObject({
      messageId: res.body.messageId,
      sessionId: body.sessionId,
      to: '4915112345678@s.whatsapp.net',
      status: 'QUEUED',
    });
  });

  it('replays the first answer for the same Idempotency-Key and sends once; refuses the key for another request', async () => {
    const { body } = await init('idem-bot');
    await connect(body.sessionId);
    await drainCommands();
    const request = {
      body: { sessionId: body.sessionId, to: '4915112345678', message: 'once' },
      headers: { 'idempotency-key': 'order-42' },
    };
    const first = await call('POST', '/whatsapp-qr/send', request);
    const second = await call('POST', '/whatsapp-qr/send', request);
    expect(first.status).toBe(202);
    expect(second.body).toEqual(first.body);
    expect((await drainCommands()).filter((c) => c.type === 'send')).toHaveLength(1);
    const reused = await call('POST', '/whatsapp-qr/send', {
      ...request,
      body: { ...request.body, message: 'other' },
    });
    expect([reused.status, reused.body.error.code]).toEqual([409, 'IDEMPOTENCY_KEY_REUSED']);
    // Another tenant's identical key is its own.
    expect((await call('POST', '/whatsapp-qr/send', { ...request, key: keyB })).status).toBe(404);
  });

  it('lists every bad field', async () => {
    const res = await call('POST', '/whatsapp-qr/send', {
      body: { sessionId: 'x', to: 'nobody', message: '' },
    });
    expect(res.status).toBe(400);
    expect(res.body.error.details.map((d: { path: string }) => d.path).sort()).toEqual([
      'body.message',
      'body.sessionId',
      'body.to',
    ]);
    const long = await call('POST', '/whatsapp-qr/send', {
      body: {
        sessionId: '00000000-0000-4000-8000-000000000000',
        to: '4915112345678',
        message: 'a'.repeat(4097),
      },
    });
    expect(long.body.error.details).toEqual([
      { path: 'body.message', message: expect.stringContaining('4096') },
    ]);
  });

  it('answers 429 with Retry-After over the tenant rate', async () => {
    const tenants = new DynamoTenantStore(
      new DynamoTable(aws.clients.dynamo, aws.env.TENANTS_TABLE as string),
    );
    const key = (await createTenant({ tenants, clock: systemClock }, 'Busy')).apiKey;
    const { body } = await init('busy-bot', key);
    await connect(body.sessionId);
    const statuses: number[] = [];
    let limited: Awaited<ReturnType<typeof call>> | undefined;
    for (let i = 0; i < 6; i++) {
      const res = await call('POST', '/whatsapp-qr/send', {
        key,
        body: { sessionId: body.sessionId, to: '4915112345678', message: `m${i}` },
      });
      statuses.push(res.status);
      if (res.status === 429) limited = res;
    }
    expect(statuses).toEqual([202, 202, 202, 202, 202, 429]);
    expect(limited?.body.error.code).toBe('RATE_LIMITED');
    expect(Number(limited?.headers.get('retry-after'))).toBeGreaterThan(0);
  });
});

describe('POST /whatsapp-qr/disconnect', () => {
  it('answers 202 with the current status and enqueues a stop with the logout flag', async () => {
    const { body } = await init('stop-bot');
    await drainCommands();
    const res = await call('POST', '/whatsapp-qr/disconnect', {
      body: { sessionId: body.sessionId, logout: true },
    });
    // 202 with the status as it is now: the runner closes the socket afterwards.
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ sessionId: body.sessionId, status: 'CONNECTING', desiredState: 'STOPPED' });
    expect(await drainCommands()).toEqual([
      expect.objectContaining({ type: 'stop', logout: true, sessionId: body.sessionId }),
    ]);
    // A later init asks the runner to start it again.
    expect((await init('stop-bot')).status).toBe(200);
    expect(await drainCommands()).toEqual([expect.objectContaining({ type: 'start' })]);
  });
});

describe('PUT /whatsapp-qr/chatbots', () => {
  it('creates and updates a chatbot, keeping fields left out', async () => {
    const created = await call('PUT', '/whatsapp-qr/chatbots/sales', {
      body: { name: 'Sales', systemPrompt: 'Sell.', aiEnabled: false },
    });
    expect(created.body).toMatchObject({
      chatbotId: 'sales',
      name: 'Sales',
      systemPrompt: 'Sell.',
      aiEnabled: false,
    });
    const updated = await call('PUT', '/whatsapp-qr/chatbots/sales', {
      body: { aiEnabled: true, model: 'offline' },
    });
    expect(updated.body).toMatchObject({
      name: 'Sales',
      systemPrompt: 'Sell.',
      aiEnabled: true,
      model: 'offline',
    });
    const bad = await call('PUT', '/whatsapp-qr/chatbots/sales', { body: { aiEnabled: 'yes' } });
    expect([bad.status, bad.body.error.details[0].path]).toEqual([400, 'body.aiEnabled']);
  });
});

describe('GET /whatsapp-qr/openapi.json', () => {
  it('documents every route with its method', async () => {
    const res = await call('GET', '/whatsapp-qr/openapi.json');
    expect(res.body.openapi).toBe('3.1.0');
    for (const route of ROUTES) {
      expect(
        res.body.paths[route.path]?.[route.method.toLowerCase()],
        `${route.method} ${route.path}`,
      ).toBeDefined();
    }
    const send = res.body.paths['/whatsapp-qr/send'].post.requestBody.content['application/json'].schema;
    // A text or a file: neither is required on its own.
    expect(send.required).toEqual(['sessionId', 'to']);
    expect(Object.keys(send.properties)).toEqual(expect.arrayContaining(['message', 'media']));
  });

  it('answers unknown routes with 404 and the error shape', async () => {
    const res = await call('GET', '/whatsapp-qr/nope');
    expect([res.status, res.body.error.code]).toEqual([404, 'ROUTE_NOT_FOUND']);
  });
});

describe('requests of any shape', () => {
  it('never get a 5xx: random methods, paths, headers and bodies over every route', async () => {
    let seed = 42;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const pick = <T>(xs: T[]): T => xs[Math.floor(random() * xs.length)] as T;
    const values = [
      null,
      true,
      0,
      -1,
      1e308,
      '',
      'x'.repeat(300),
      '💥',
      { a: 1 },
      [1, 2],
      '../../etc',
      '%00',
      'ü',
    ];
    const bodies = [
      () =>
        JSON.stringify(
          Object.fromEntries([
            ['chatbotId', pick(values)],
            ['sessionId', pick(values)],
            ['to', pick(values)],
            ['message', pick(values)],
            ['logout', pick(values)],
          ]),
        ),
      () => '{"chatbotId":',
      () => 'null',
      () => '[]',
      () => String(pick(values)),
      () => JSON.stringify({ from: '2026-13-45', to: pick(values) }),
    ];
    const paths = ROUTES.map((r) =>
      r.path.replace(/\{\w+\}/g, () => encodeURIComponent(String(pick(values)))),
    );
    const statuses = new Set<number>();
    for (let i = 0; i < 150; i++) {
      const path = `${pick(paths)}${random() < 0.3 ? `?cursor=${encodeURIComponent(String(pick(values)))}&sessionId=${pick(['x', '00000000-0000-4000-8000-000000000000'])}&from=2026-01-01&to=${pick(['2026-01-02', 'x'])}&limit=${pick(['0', '5', 'abc'])}` : ''}`;
      const method = pick(['GET', 'POST', 'PUT', 'DELETE']);
      const res = await fetch(`${api.url}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${pick([keyA, keyB, 'nope'])}`,
          'content-type': pick(['application/json', 'text/plain', 'application/json; charset=utf-8']),
          ...(random() < 0.3 && {
            'idempotency-key': encodeURIComponent(String(pick(values))).slice(0, 300) || 'k',
          }),
        },
        ...(method !== 'GET' && random() < 0.7 && { body: pick(bodies)() }),
      }).catch((error: Error) => ({ status: 0, error }));
      statuses.add(res.status);
      expect(res.status, path).toBeGreaterThanOrEqual(200);
      expect(res.status, path).toBeLessThan(500);
    }
    expect(statuses.size).toBeGreaterThan(3);
  }, 60_000);
});
