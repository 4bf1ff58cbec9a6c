import type { TableKey } from '#shared/adapters/table-definitions.ts';
import {
  ChatbotIdParams,
  ChatbotView,
  ConversationIdParams,
  DisconnectBody,
  DisconnectResponse,
  IdempotencyKeyHeader,
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
} from '#shared/contracts/http.ts';
import {
  ChatbotListResponse,
  ChatbotsQuery,
  DeleteSessionQuery,
  DeleteSessionResponse,
  NoContent,
  SessionListResponse,
  SessionsQuery,
} from '#shared/contracts/management.ts';
import {
  MediaIdParams,
  MediaLinkQuery,
  MediaLinkResponse,
  MediaRedirect,
  MediaUploadBody,
  MediaUploadResponse,
} from '#shared/contracts/media.ts';
import {
  ConversationListResponse,
  ConversationMessagesResponse,
  ConversationsPageQuery,
  MessagesPageQuery,
} from '#shared/contracts/read-api.ts';
import {
  CreatedWebhook,
  CreateWebhookBody,
  DeliveriesPageQuery,
  DeliveryListResponse,
  WebhookListResponse,
  WebhookPathParams,
  WebhookTestResponse,
} from '#shared/contracts/webhooks-api.ts';
import * as z from '#shared/zod.ts';
import type { RequestSpec } from '../middleware/parse-request.ts';

/**
 * The tenant API, declared once: per route its method, path, request and response schemas, handler
 * module and the AWS resources it touches. The CDK app grants each route's Lambda exactly its
 * `resources`, the local API gateway serves this table, the OpenAPI document is generated from it,
 * and `httpRoute` checks every JSON result against `responses`. Schemas and names only: the CDK
 * app imports this module, so it never imports handler code.
 */

export type TableAccess = 'read' | 'readWrite';

/** What a route's Lambda may touch (and is told about through its env). */
export interface RouteResources {
  tables: Partial<Record<TableKey, TableAccess>>;
  /** Sends commands to the runners' command queues. */
  commands?: 'send';
  /** Sends delivery jobs to `webhook-deliveries.fifo` (the webhook test route). */
  webhookDeliveries?: 'send';
  /**
   * The tenants' files (`media/` of the auth-state bucket): `read` looks at them and presigns
   * links to them; `describe` reads too, and records a file's missing sha256 on it (a copy onto
   * itself); `upload` reserves new ones and presigns their upload (a PUT S3 authorizes with this
   * route's role).
   */
  media?: 'read' | 'describe' | 'upload';
}

export type HttpMethodName = 'GET' | 'POST' | 'PUT' | 'DELETE';

export interface RouteDefinition<S extends RequestSpec = RequestSpec> {
  /** Construct id, function name suffix, and the component name `route:<id>` of the IAM check. */
  id: string;
  method: HttpMethodName;
  /** API Gateway route path, with `{param}` placeholders. */
  path: string;
  /** Handler module, relative to the repository root; it exports `handler`. */
  entry: string;
  summary: string;
  /** What the handler parses (zod), by part of the request; header names in lower case. */
  request: S;
  /** The JSON body of each success status; a result that does not match is a bug (500, logged). */
  responses: Record<number, z.ZodMiniType>;
  /** Other media types the success response may have, with their OpenAPI string format. */
  media?: Record<string, 'binary' | 'string'>;
  /** Error statuses this route answers beyond those every route may answer. */
  errors?: number[];
  resources: RouteResources;
}

const PREFIX = '/whatsapp-qr';

// Pure, so that a handler's bundle keeps its own route and drops the others with their summaries
// and schemas (a handler imports its `…Route` alone: any property of ROUTE would keep them all).
const route = /* @__NO_SIDE_EFFECTS__ */ <S extends RequestSpec>(
  definition: Omit<RouteDefinition<S>, 'entry' | 'path'> & { path: string; file: string },
): RouteDefinition<S> => {
  const { file, path, ...rest } = definition;
  return { ...rest, path: `${PREFIX}${path}`, entry: `functions/http/${file}.ts` };
};

/** Readable by every route that shows a session: its status depends on whether a runner holds it. */
const SESSION_READ = { sessions: 'read', leases: 'read' } as const;

export const InitSessionRoute = route({
  id: 'InitSession',
  method: 'POST',
  path: '/init',
  file: 'init-session',
  summary: 'Create or restart the WhatsApp session of a chatbot',
  request: { body: InitSessionBody },
  responses: { 201: InitSessionResponse, 200: InitSessionResponse },
  errors: [409],
  resources: { tables: { sessions: 'readWrite', leases: 'read' }, commands: 'send' },
});

export const GetQrCodeRoute = route({
  id: 'GetQrCode',
  method: 'GET',
  path: '/qr-code/{sessionId}',
  file: 'get-qr-code',
  summary: 'The QR code to scan (JSON, PNG with Accept: image/png, or ?format=svg)',
  request: { params: SessionIdParams, query: QrCodeQuery },
  responses: { 200: QrCodeResponse },
  media: { 'image/png': 'binary', 'image/svg+xml': 'string' },
  errors: [409],
  resources: { tables: SESSION_READ },
});

export const GetStatusRoute = route({
  id: 'GetStatus',
  method: 'GET',
  path: '/status/{sessionId}',
  file: 'get-status',
  summary: 'The status of a session',
  request: { params: SessionIdParams },
  responses: { 200: StatusResponse },
  resources: { tables: SESSION_READ },
});

export const SendMessageRoute = route({
  id: 'SendMessage',
  method: 'POST',
  path: '/send',
  file: 'send-message',
  summary:
    'Queue a text, or a file (media: an uploaded mediaId or an https url; 400 UNSUPPORTED_MEDIA, MEDIA_TOO_LARGE, MEDIA_NOT_UPLOADED, MEDIA_URL_NOT_PUBLIC)',
  // Pure like `route`, so that other routes' bundles drop this one.
  request: {
    body: SendMessageBody,
    headers: { 'idempotency-key': /* @__PURE__ */ z.optional(IdempotencyKeyHeader) },
  },
  responses: { 202: SendMessageResponse },
  errors: [409],
  resources: {
    // The message joins its conversation and counts in the day's usage in one transaction.
    tables: { sessions: 'read', messages: 'readWrite', requests: 'readWrite', usage: 'readWrite' },
    commands: 'send',
    // A mediaId must be the tenant's and uploaded: two HEADs under media/<tenantId>/.
    media: 'read',
  },
});

export const GetMessageRoute = route({
  id: 'GetMessage',
  method: 'GET',
  path: '/messages/{messageId}',
  file: 'get-message',
  summary: 'The delivery status of a message',
  request: { params: MessageIdParams },
  responses: { 200: MessageView },
  resources: { tables: { messages: 'read' } },
});

export const DisconnectRoute = route({
  id: 'Disconnect',
  method: 'POST',
  path: '/disconnect',
  file: 'disconnect',
  summary: 'Close a session, optionally unlinking the device (the answer has the current status)',
  request: { body: DisconnectBody },
  responses: { 202: DisconnectResponse },
  resources: { tables: { sessions: 'readWrite', leases: 'read' }, commands: 'send' },
});

export const ListSessionsRoute = route({
  id: 'ListSessions',
  method: 'GET',
  path: '/sessions',
  file: 'list-sessions',
  summary:
    'The sessions of the tenant, newest first, by status (as shown) or chatbot (paged with nextCursor)',
  request: { query: SessionsQuery },
  responses: { 200: SessionListResponse },
  resources: { tables: SESSION_READ },
});

export const DeleteSessionRoute = route({
  id: 'DeleteSession',
  method: 'DELETE',
  path: '/sessions/{sessionId}',
  file: 'delete-session',
  summary:
    'Delete a session: unlink the device, delete its auth state, free its chatbot (?purge=true: also its conversations and messages)',
  request: { params: SessionIdParams, query: DeleteSessionQuery },
  responses: { 202: DeleteSessionResponse },
  // The runner deletes the auth state, the record and (purge) the messages: it holds those grants.
  resources: { tables: { sessions: 'readWrite' }, commands: 'send' },
});

export const ListChatbotsRoute = route({
  id: 'ListChatbots',
  method: 'GET',
  path: '/chatbots',
  file: 'list-chatbots',
  summary: 'The chatbots of the tenant, newest first (paged with nextCursor)',
  request: { query: ChatbotsQuery },
  responses: { 200: ChatbotListResponse },
  resources: { tables: { sessions: 'read' } },
});

export const GetChatbotRoute = route({
  id: 'GetChatbot',
  method: 'GET',
  path: '/chatbots/{chatbotId}',
  file: 'get-chatbot',
  summary: 'One chatbot',
  request: { params: ChatbotIdParams },
  responses: { 200: ChatbotView },
  resources: { tables: { sessions: 'read' } },
});

export const DeleteChatbotRoute = route({
  id: 'DeleteChatbot',
  method: 'DELETE',
  path: '/chatbots/{chatbotId}',
  file: 'delete-chatbot',
  summary: 'Delete a chatbot (409 SESSION_EXISTS while it has a session)',
  request: { params: ChatbotIdParams },
  responses: { 204: NoContent },
  errors: [409],
  resources: { tables: { sessions: 'readWrite' } },
});

export const GetSessionByChatbotRoute = route({
  id: 'GetSessionByChatbot',
  method: 'GET',
  path: '/session/{chatbotId}',
  file: 'get-session-by-chatbot',
  summary: 'The session of a chatbot, with the chatbot',
  request: { params: ChatbotIdParams },
  responses: { 200: SessionWithChatbotResponse },
  resources: { tables: SESSION_READ },
});

export const UpsertChatbotRoute = route({
  id: 'UpsertChatbot',
  method: 'PUT',
  path: '/chatbots/{chatbotId}',
  file: 'upsert-chatbot',
  summary: 'Create or update a chatbot',
  request: { params: ChatbotIdParams, body: UpsertChatbotBody },
  responses: { 200: ChatbotView },
  resources: { tables: { sessions: 'readWrite' } },
});

export const ListConversationsRoute = route({
  id: 'ListConversations',
  method: 'GET',
  path: '/conversations',
  file: 'list-conversations',
  summary: 'The conversations of a session, most recent activity first (paged with nextCursor)',
  request: { query: ConversationsPageQuery },
  responses: { 200: ConversationListResponse },
  resources: { tables: { sessions: 'read', messages: 'read' } },
});

export const ListConversationMessagesRoute = route({
  id: 'ListConversationMessages',
  method: 'GET',
  path: '/conversations/{conversationId}/messages',
  file: 'list-conversation-messages',
  summary: 'The messages of a conversation, oldest first (paged with nextCursor)',
  request: { params: ConversationIdParams, query: MessagesPageQuery },
  responses: { 200: ConversationMessagesResponse },
  resources: { tables: { messages: 'read' } },
});

export const GetUsageRoute = route({
  id: 'GetUsage',
  method: 'GET',
  path: '/usage',
  file: 'get-usage',
  summary:
    'Usage per UTC day from `from` to `to` (inclusive, at most 366 days; days without usage are zeros)',
  request: { query: UsageQuery },
  responses: { 200: UsageResponse },
  resources: { tables: { usage: 'read' } },
});

// Events to tenants: the webhook endpoints of a tenant and their deliveries.
export const CreateWebhookRoute = route({
  id: 'CreateWebhook',
  method: 'POST',
  path: '/webhooks',
  file: 'create-webhook',
  summary:
    'Register a webhook endpoint (https:// to public addresses); the answer has its whsec_ secret, shown this once',
  request: { body: CreateWebhookBody },
  responses: { 201: CreatedWebhook },
  errors: [409],
  resources: { tables: { webhooks: 'readWrite' } },
});

export const ListWebhooksRoute = route({
  id: 'ListWebhooks',
  method: 'GET',
  path: '/webhooks',
  file: 'list-webhooks',
  summary: 'The webhook endpoints of the tenant, oldest first (without secrets)',
  request: {},
  responses: { 200: WebhookListResponse },
  resources: { tables: { webhooks: 'read' } },
});

export const DeleteWebhookRoute = route({
  id: 'DeleteWebhook',
  method: 'DELETE',
  path: '/webhooks/{webhookId}',
  file: 'delete-webhook',
  summary: 'Delete a webhook endpoint (events not yet delivered to it are dropped)',
  request: { params: WebhookPathParams },
  responses: { 204: NoContent },
  resources: { tables: { webhooks: 'readWrite' } },
});

export const TestWebhookRoute = route({
  id: 'TestWebhook',
  method: 'POST',
  path: '/webhooks/{webhookId}/test',
  file: 'test-webhook',
  summary: 'Send a webhook.test event to this endpoint (see its deliveries)',
  request: { params: WebhookPathParams },
  responses: { 202: WebhookTestResponse },
  resources: { tables: { webhooks: 'readWrite' }, webhookDeliveries: 'send' },
});

export const ListWebhookDeliveriesRoute = route({
  id: 'ListWebhookDeliveries',
  method: 'GET',
  path: '/webhooks/{webhookId}/deliveries',
  file: 'list-webhook-deliveries',
  summary: 'The deliveries of a webhook endpoint with their state and attempts, newest first (paged)',
  request: { params: WebhookPathParams, query: DeliveriesPageQuery },
  responses: { 200: DeliveryListResponse },
  resources: { tables: { webhooks: 'read' } },
});

export const GetMediaRoute = route({
  id: 'GetMedia',
  method: 'GET',
  path: '/media/{mediaId}',
  file: 'get-media',
  summary:
    'A file of the tenant: 302 to a presigned GET valid 5 minutes (?format=json gives { url, mimeType, fileName?, size, sha256 })',
  request: { params: MediaIdParams, query: MediaLinkQuery },
  responses: { 200: MediaLinkResponse, 302: MediaRedirect },
  // An upload's sha256 is computed on the first ask and recorded on the file (a copy onto itself).
  resources: { tables: {}, media: 'describe' },
});

export const CreateMediaUploadRoute = route({
  id: 'CreateMediaUpload',
  method: 'POST',
  path: '/media',
  file: 'media-upload',
  summary:
    'Reserve a file to send: 201 { mediaId, uploadUrl, expiresAt }, a presigned PUT valid 15 minutes with the declared Content-Type and size (images 5 MB, audio and video 16 MB, documents 100 MB)',
  request: { body: MediaUploadBody },
  responses: { 201: MediaUploadResponse },
  resources: { tables: {}, media: 'upload' },
});

export const GetOpenApiRoute = route({
  id: 'GetOpenApi',
  method: 'GET',
  path: '/openapi.json',
  file: 'get-openapi',
  summary: 'This document',
  request: {},
  responses: { 200: /* @__PURE__ */ z.looseObject({ openapi: /* @__PURE__ */ z.string() }) },
  resources: { tables: {} },
});

/** Every route, by id (the CDK app, the local API, the tests); a handler imports its own `…Route` alone. */
export const ROUTE = {
  InitSession: InitSessionRoute,
  GetQrCode: GetQrCodeRoute,
  GetStatus: GetStatusRoute,
  SendMessage: SendMessageRoute,
  GetMessage: GetMessageRoute,
  Disconnect: DisconnectRoute,
  ListSessions: ListSessionsRoute,
  DeleteSession: DeleteSessionRoute,
  ListChatbots: ListChatbotsRoute,
  GetChatbot: GetChatbotRoute,
  DeleteChatbot: DeleteChatbotRoute,
  GetSessionByChatbot: GetSessionByChatbotRoute,
  UpsertChatbot: UpsertChatbotRoute,
  ListConversations: ListConversationsRoute,
  ListConversationMessages: ListConversationMessagesRoute,
  GetUsage: GetUsageRoute,
  CreateWebhook: CreateWebhookRoute,
  ListWebhooks: ListWebhooksRoute,
  DeleteWebhook: DeleteWebhookRoute,
  TestWebhook: TestWebhookRoute,
  ListWebhookDeliveries: ListWebhookDeliveriesRoute,
  GetMedia: GetMediaRoute,
  CreateMediaUpload: CreateMediaUploadRoute,
  GetOpenApi: GetOpenApiRoute,
};

/** Every route, in declaration order. */
export const ROUTES: RouteDefinition[] = /* @__PURE__ */ Object.values(ROUTE);

export const AUTHORIZER_ENTRY = 'functions/http/authorizer.ts';

/** The HTTP methods served on a path, for a 405's `Allow` header. */
export const methodsOfPath = (path: string): HttpMethodName[] =>
  ROUTES.filter((r) => r.path === path).map((r) => r.method);
