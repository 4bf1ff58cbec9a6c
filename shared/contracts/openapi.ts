import { z } from 'zod';
import {
  ChatbotIdParams,
  ChatbotView,
  ConversationIdParams,
  DisconnectBody,
  DisconnectResponse,
  ErrorResponse,
  InitSessionBody,
  InitSessionResponse,
  MessageIdParams,
  MessageView,
  QrCodeQuery,
  QrCodeResponse,
  SendMessageBody,
  SendMessageResponse,
  SessionIdParams,
  SessionWithChatbotResponse,
  StatusResponse,
  UpsertChatbotBody,
  UsageQuery,
  UsageResponse,
} from './http.ts';
import {
  ConversationListResponse,
  ConversationMessagesResponse,
  ConversationsPageQuery,
  MessagesPageQuery,
} from './read-api.ts';

interface Operation {
  method: 'get' | 'post' | 'put';
  path: string;
  summary: string;
  body?: z.ZodType;
  params?: z.ZodObject;
  query?: z.ZodObject;
  headers?: Record<string, z.ZodType>;
  responses: Record<number, z.ZodType>;
  errors: number[];
  /** Extra media types of the success response. */
  media?: Record<string, string>;
}

const ERR = [400, 401, 404, 413, 429, 503];

/** Every route of the tenant API (the tests check this list against the deployed routes). */
export const OPERATIONS: Operation[] = [
  {
    method: 'post',
    path: '/whatsapp-qr/init',
    summary: 'Create or restart the WhatsApp session of a chatbot',
    body: InitSessionBody,
    responses: { 201: InitSessionResponse, 200: InitSessionResponse },
    errors: [...ERR, 409],
  },
  {
    method: 'get',
    path: '/whatsapp-qr/qr-code/{sessionId}',
    summary: 'The QR code to scan (JSON, PNG with Accept: image/png, or ?format=svg)',
    params: SessionIdParams,
    query: QrCodeQuery,
    responses: { 200: QrCodeResponse },
    errors: [...ERR, 409],
    media: { 'image/png': 'binary', 'image/svg+xml': 'string' },
  },
  {
    method: 'get',
    path: '/whatsapp-qr/status/{sessionId}',
    summary: 'The status of a session',
    params: SessionIdParams,
    responses: { 200: StatusResponse },
    errors: ERR,
  },
  {
    method: 'post',
    path: '/whatsapp-qr/send',
    summary: 'Queue a text message',
    body: SendMessageBody,
    headers: { 'Idempotency-Key': z.string().min(1).max(255) },
    responses: { 202: SendMessageResponse },
    errors: [...ERR, 409],
  },
  {
    method: 'get',
    path: '/whatsapp-qr/messages/{messageId}',
    summary: 'The delivery status of a message',
    params: MessageIdParams,
    responses: { 200: MessageView },
    errors: ERR,
  },
  {
    method: 'post',
    path: '/whatsapp-qr/disconnect',
    summary: 'Close a session, optionally unlinking the device',
    body: DisconnectBody,
    responses: { 200: DisconnectResponse },
    errors: ERR,
  },
  {
    method: 'get',
    path: '/whatsapp-qr/session/{chatbotId}',
    summary: 'The session of a chatbot, with the chatbot',
    params: ChatbotIdParams,
    responses: { 200: SessionWithChatbotResponse },
    errors: ERR,
  },
  {
    method: 'put',
    path: '/whatsapp-qr/chatbots/{chatbotId}',
    summary: 'Create or update a chatbot',
    params: ChatbotIdParams,
    body: UpsertChatbotBody,
    responses: { 200: ChatbotView },
    errors: ERR,
  },
  {
    method: 'get',
    path: '/whatsapp-qr/conversations',
    summary: 'The conversations of a session, most recent activity first (paged with nextCursor)',
    query: ConversationsPageQuery,
    responses: { 200: ConversationListResponse },
    errors: ERR,
  },
  {
    method: 'get',
    path: '/whatsapp-qr/conversations/{conversationId}/messages',
    summary: 'The messages of a conversation, oldest first (paged with nextCursor)',
    params: ConversationIdParams,
    query: MessagesPageQuery,
    responses: { 200: ConversationMessagesResponse },
    errors: ERR,
  },
  {
    method: 'get',
    path: '/whatsapp-qr/usage',
    summary:
      'Usage per UTC day from `from` to `to` (inclusive, at most 366 days; days without usage are zeros)',
    query: UsageQuery,
    responses: { 200: UsageResponse },
    errors: ERR,
  },
  {
    method: 'get',
    path: '/whatsapp-qr/openapi.json',
    summary: 'This document',
    responses: { 200: z.object({ openapi: z.string() }).loose() },
    errors: [401],
  },
];

const schema = (type: z.ZodType, io: 'input' | 'output') =>
  z.toJSONSchema(type, { io, unrepresentable: 'any' });

const parameters = (op: Operation) => [
  ...Object.entries(op.params?.shape ?? {}).map(([name, s]) => ({
    name,
    in: 'path',
    required: true,
    schema: schema(s as z.ZodType, 'input'),
  })),
  ...Object.entries(op.query?.shape ?? {}).map(([name, s]) => ({
    name,
    in: 'query',
    required: !(s as z.ZodType).safeParse(undefined).success,
    schema: schema(s as z.ZodType, 'input'),
  })),
  ...Object.entries(op.headers ?? {}).map(([name, s]) => ({
    name,
    in: 'header',
    required: false,
    schema: schema(s, 'input'),
  })),
];

const operation = (op: Operation) => ({
  summary: op.summary,
  operationId: `${op.method}${op.path.replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ?? '').toUpperCase())}`,
  security: [{ bearer: [] }, { apiKey: [] }],
  parameters: parameters(op),
  ...(op.body && {
    requestBody: { required: true, content: { 'application/json': { schema: schema(op.body, 'input') } } },
  }),
  responses: {
    ...Object.fromEntries(
      Object.entries(op.responses).map(([status, s]) => [
        status,
        {
          description: 'Success',
          content: {
            'application/json': { schema: schema(s, 'output') },
            ...Object.fromEntries(
              Object.entries(op.media ?? {}).map(([m, format]) => [
                m,
                { schema: { type: 'string', format } },
              ]),
            ),
          },
        },
      ]),
    ),
    ...Object.fromEntries(
      op.errors.map((status) => [
        status,
        {
          description: 'Error',
          content: { 'application/json': { schema: schema(ErrorResponse, 'output') } },
        },
      ]),
    ),
  },
});

let document: Record<string, unknown> | undefined;

/** The OpenAPI 3.1 document of the tenant API, generated from the same zod schemas the handlers use. */
export const openApiDocument = (): Record<string, unknown> => {
  document ??= {
    openapi: '3.1.0',
    info: { title: 'WhatsApp QR Gateway', version: '1.0.0' },
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer' },
        apiKey: { type: 'apiKey', in: 'header', name: 'x-api-key' },
      },
    },
    paths: OPERATIONS.reduce<Record<string, Record<string, unknown>>>((paths, op) => {
      paths[op.path] = { ...paths[op.path], [op.method]: operation(op) };
      return paths;
    }, {}),
  };
  return document;
};
