/**
 * Every tenant API route and the module that handles it, as data: the local API gateway and the
 * CDK HTTP API are both built from this list. Each entry module exports `handler`;
 * every route requires an API key (the contract has no public route).
 */
export interface RouteDefinition {
  /** Construct id and function name suffix. */
  id: string;
  method: 'GET' | 'POST' | 'PUT';
  /** API Gateway route path, with `{param}` placeholders. */
  path: string;
  /** Handler module, relative to the repository root. */
  entry: string;
}

const route = (
  id: string,
  method: RouteDefinition['method'],
  path: string,
  file: string,
): RouteDefinition => ({
  id,
  method,
  path: `/whatsapp-qr${path}`,
  entry: `functions/http/${file}.ts`,
});

export const ROUTES: RouteDefinition[] = [
  route('InitSession', 'POST', '/init', 'init-session'),
  route('GetQrCode', 'GET', '/qr-code/{sessionId}', 'get-qr-code'),
  route('GetStatus', 'GET', '/status/{sessionId}', 'get-status'),
  route('SendMessage', 'POST', '/send', 'send-message'),
  route('GetMessage', 'GET', '/messages/{messageId}', 'get-message'),
  route('Disconnect', 'POST', '/disconnect', 'disconnect'),
  route('GetSessionByChatbot', 'GET', '/session/{chatbotId}', 'get-session-by-chatbot'),
  route('UpsertChatbot', 'PUT', '/chatbots/{chatbotId}', 'upsert-chatbot'),
  route('ListConversations', 'GET', '/conversations', 'list-conversations'),
  route(
    'ListConversationMessages',
    'GET',
    '/conversations/{conversationId}/messages',
    'list-conversation-messages',
  ),
  route('GetUsage', 'GET', '/usage', 'get-usage'),
  route('GetOpenApi', 'GET', '/openapi.json', 'get-openapi'),
];

export const AUTHORIZER_ENTRY = 'functions/http/authorizer.ts';
