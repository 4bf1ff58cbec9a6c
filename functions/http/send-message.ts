import { IdempotencyKeyHeader, SendMessageBody } from '#shared/contracts/http.ts';
import { sendMessage } from '#shared/use-cases/messages.ts';
import { httpRoute } from './http-route.ts';

/** POST /whatsapp-qr/send — 202 once the message is queued; `Idempotency-Key` makes retries safe. */
export const handler = httpRoute(
  { body: SendMessageBody, headers: { 'idempotency-key': IdempotencyKeyHeader.optional() } },
  async ({ deps, tenantId, body, headers }) => ({
    status: 202,
    json: await sendMessage(deps, tenantId, body, headers['idempotency-key']),
  }),
);
