import { createHash } from 'node:crypto';
import type { SendMessageInput } from '../contracts/http.ts';
import type { Message, Session } from '../domain/entities.ts';
import { newId } from '../domain/ids.ts';
import { outgoingMediaNote } from '../domain/outgoing-media.ts';
import { toJid } from '../domain/whatsapp-address.ts';
import { ConflictError, NotFoundError } from '../errors.ts';
import type { AppendedMessage } from '../ports/conversation-store.ts';
import { usageDayOf } from '../ports/usage-store.ts';
import { type GatewayDeps, loadOwnSession } from './deps.ts';
import { enqueueSend } from './enqueue-send.ts';
import { resolveSendMedia, type SendMediaDeps } from './media.ts';
import { conversationIdOf } from './process-incoming.ts';

const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;

export interface SendResult {
  messageId: string;
  status: 'QUEUED';
}

/**
 * Queues a text for a connected session. With an idempotency key, a repeat within 24 h answers
 * like the first request and sends nothing more; the same key with another request is refused.
 * A failed enqueue removes what this call stored, so the caller can simply retry.
 */
export const sendMessage = async (
  deps: GatewayDeps & SendMediaDeps,
  tenantId: string,
  input: SendMessageInput,
  idempotencyKey?: string,
): Promise<SendResult> => {
  const session = await loadOwnSession(deps, tenantId, input.sessionId);
  const to = toJid(input.to);
  // A text-only request keeps the fingerprint it always had (keys stored before media still match).
  const request = input.media
    ? [input.sessionId, to, input.message, input.media]
    : [input.sessionId, to, input.message];
  const fingerprint = createHash('sha256').update(JSON.stringify(request)).digest('hex');
  const now = deps.clock.now();
  const media = input.media
    ? await resolveSendMedia(deps, tenantId, input.media, input.media.caption ?? input.message)
    : undefined;

  const buildMessage = (messageId: string): Message => ({
    messageId,
    tenantId,
    sessionId: session.sessionId,
    direction: 'out',
    to,
    text: media ? outgoingMediaNote(media) : (input.message as string),
    ...(media && { media }),
    status: 'QUEUED',
    createdAt: now.toISOString(),
    updatedAt: now.toISOString(),
  });
  const replay = async (): Promise<SendResult | undefined> => {
    if (!idempotencyKey) return undefined;
    const messageId = await replayedMessageId(deps, tenantId, idempotencyKey, fingerprint);
    if (!messageId) return undefined;
    // The first request may have died between claiming the key and enqueueing: finish its work. A
    // repeated command is harmless: SQS drops it within 5 minutes, and the runner skips a sent message.
    const stored = await deps.messages.get(messageId);
    if (!stored) await storeAndEnqueue(deps, session, buildMessage(messageId));
    else if (stored.status === 'QUEUED') await enqueueSend(deps, session, stored);
    return { messageId, status: 'QUEUED' };
  };

  const first = await replay();
  if (first) return first;
  if (session.status !== 'CONNECTED') {
    throw new ConflictError('SESSION_NOT_CONNECTED', `The session is ${session.status}, not CONNECTED`);
  }

  const messageId = newId();
  if (idempotencyKey) {
    const record = {
      tenantId,
      key: idempotencyKey,
      fingerprint,
      messageId,
      createdAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + IDEMPOTENCY_TTL_MS).toISOString(),
    };
    if (!(await deps.idempotency.claim(record, now))) {
      // A concurrent request with the same key won: answer like it.
      const winner = await replay();
      if (winner) return winner;
      throw new ConflictError(
        'IDEMPOTENCY_IN_PROGRESS',
        'A request with this Idempotency-Key is in progress',
      );
    }
  }
  try {
    // Counted against the tenant's send rate in the write that stores it (429 when over it: the
    // key is freed below). A replay above finishes an earlier request's work uncounted.
    await storeAndEnqueue(deps, session, buildMessage(messageId), { ...deps.sendRate, at: now });
  } catch (error) {
    if (idempotencyKey) await deps.idempotency.release(tenantId, idempotencyKey).catch(() => undefined);
    throw error;
  }
  return { messageId, status: 'QUEUED' };
};

/**
 * Stores the message as QUEUED in its conversation, counted as a message out (and against `limit`,
 * when given), and enqueues its send; a failed enqueue removes the message and takes the count back.
 */
const storeAndEnqueue = async (
  deps: GatewayDeps,
  session: Session,
  message: Message,
  limit?: AppendedMessage['limit'],
): Promise<void> => {
  const stored = await deps.conversations.appendMessage({
    message: { ...message, conversationId: conversationIdOf(session.sessionId, message.to) },
    peer: message.to,
    usage: { messagesOut: 1 },
    now: message.createdAt,
    ...(limit && { limit }),
  });
  try {
    await enqueueSend(deps, session, message);
  } catch (error) {
    if (stored) {
      await deps.messages.delete(message.messageId).catch(() => undefined);
      await deps.usage
        .add(message.tenantId, usageDayOf(message.createdAt), { messagesOut: -1 })
        .catch(() => undefined);
    }
    throw error;
  }
};

/** The message id the key was first used for; 409 when the key came with a different request. */
const replayedMessageId = async (
  deps: GatewayDeps,
  tenantId: string,
  key: string,
  fingerprint: string,
): Promise<string | undefined> => {
  const record = await deps.idempotency.get(tenantId, key, deps.clock.now());
  if (!record) return undefined;
  if (record.fingerprint !== fingerprint) {
    throw new ConflictError(
      'IDEMPOTENCY_KEY_REUSED',
      'This Idempotency-Key was used with a different request',
    );
  }
  return record.messageId;
};

export const getMessage = async (
  deps: GatewayDeps,
  tenantId: string,
  messageId: string,
): Promise<Message> => {
  const message = await deps.messages.get(messageId);
  if (!message || message.tenantId !== tenantId)
    throw new NotFoundError('MESSAGE_NOT_FOUND', 'No such message');
  return message;
};
