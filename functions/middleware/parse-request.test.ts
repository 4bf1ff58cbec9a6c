import middy from '@middy/core';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { createLogger } from '#shared/logger.ts';
import * as z from '#shared/zod.ts';
import { httpErrorMapper } from './error-response.ts';
import { parseRequest } from './parse-request.ts';

// parseRequest through real middy and real zod: what a caller reads when a field is wrong or absent.

// biome-ignore lint/suspicious/noExplicitAny: the parsed shape is what the test checks, not the type
const handler = middy<any>()
  .use(httpErrorMapper(createLogger('test')))
  .use(
    parseRequest({
      body: z.strictObject({
        chatbotId: z.string().check(z.regex(/^[a-z]+$/, 'must be lower-case letters')),
        sessionId: z.uuid('must be a UUID'),
        nested: z.optional(z.object({ count: z.number() })),
      }),
      query: z.object({ from: z.iso.date('must be a date YYYY-MM-DD') }),
    }),
  )
  .handler(async () => ({ statusCode: 200, body: '{}' }));

const call = async (body: unknown, query: Record<string, string> = { from: '2026-01-01' }) => {
  const event = {
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    queryStringParameters: query,
  } as unknown as APIGatewayProxyEventV2;
  const response = (await handler(event, {} as never)) as { statusCode: number; body: string };
  return { status: response.statusCode, body: JSON.parse(response.body) };
};

describe('parseRequest', () => {
  it('says "<field> is required" for every absent field, whatever message the schema has', async () => {
    const res = await call({}, {});
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('VALIDATION_FAILED');
    expect(res.body.error.details).toEqual([
      { path: 'body.chatbotId', message: 'chatbotId is required' },
      { path: 'body.sessionId', message: 'sessionId is required' },
      { path: 'query.from', message: 'from is required' },
    ]);
  });

  it('keeps the schema message for a field that is present but wrong, nested ones included', async () => {
    const res = await call({ chatbotId: 'ABC', sessionId: 42, nested: {} });
    expect(res.body.error.details).toEqual([
      { path: 'body.chatbotId', message: 'must be lower-case letters' },
      { path: 'body.sessionId', message: expect.not.stringContaining('required') },
      { path: 'body.nested.count', message: 'count is required' },
    ]);
  });

  it('never calls a null field "required"', async () => {
    const res = await call({ chatbotId: null, sessionId: '6f1c3c1e-4a55-4a57-9a7e-6f0f3b8f1a11' });
    expect(res.body.error.details).toEqual([
      // zod's English message: zod/mini has none unless shared/zod.ts configures them.
      { path: 'body.chatbotId', message: 'Invalid input: expected string, received null' },
    ]);
  });
});
