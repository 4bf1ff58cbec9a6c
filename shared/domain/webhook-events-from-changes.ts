import { createHash } from 'node:crypto';
import { NOTIFIED_MESSAGE_STATUSES, type WebhookEventType } from '../contracts/webhook-events.ts';

// Events to tenants come from the stored state, not from the component that made the change: a
// status written by the runner, by the API or by the AI worker produces its event the same way,
// exactly once per change (DynamoDB Streams, NEW_AND_OLD_IMAGES, on the sessions and messages tables).

/** One change of a stored item, images already unmarshalled. */
export interface StoredChange {
  eventName: 'INSERT' | 'MODIFY' | 'REMOVE';
  newImage?: Record<string, unknown>;
  oldImage?: Record<string, unknown>;
}

/**
 * An event before fan-out. `chatbotId` is absent when the item does not carry it (messages): the
 * fan-out completes it from the session. `data` lacks `chatbotId` in that case.
 */
export interface EventDraft {
  eventId: string;
  type: WebhookEventType;
  tenantId: string;
  sessionId: string;
  chatbotId?: string;
  /** When the change happened (the item's own time), ISO. */
  timestamp: string;
  data: Record<string, unknown>;
}

/**
 * A stable event id: the same stored change always gives the same id, so a redelivered stream
 * batch (or a retried fan-out) produces the same `webhook-id` and receivers can dedupe on it.
 */
export const stableEventId = (...parts: string[]): string =>
  `evt_${createHash('sha256').update(parts.join('\u0000')).digest('base64url').slice(0, 32)}`;

const str = (value: unknown): string | undefined =>
  typeof value === 'string' && value.length > 0 ? value : undefined;

const defined = (value: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined));

const sessionEvents = (change: StoredChange, item: Record<string, unknown>): EventDraft[] => {
  const old = change.oldImage;
  const status = str(item.status);
  const tenantId = str(item.tenantId);
  const sessionId = str(item.sessionId);
  const updatedAt = str(item.updatedAt);
  if (!status || !tenantId || !sessionId || !updatedAt) return [];
  const previousStatus = str(old?.status);
  const qr = status === 'QR_READY' ? str(item.qr) : undefined;
  // A heartbeat, a desired-state change or a fence stamp is no status change; a new QR is.
  const changed = !old || previousStatus !== status || (qr !== undefined && qr !== str(old.qr));
  if (!changed) return [];
  const chatbotId = str(item.chatbotId);
  return [
    {
      eventId: stableEventId(String(item.pk), 'session.status', status, updatedAt),
      type: 'session.status',
      tenantId,
      sessionId,
      ...(chatbotId && { chatbotId }),
      timestamp: updatedAt,
      data: defined({
        sessionId,
        chatbotId,
        status,
        previousStatus,
        phoneNumber: str(item.phoneNumber),
        lastError: str(item.lastError),
        qr,
      }),
    },
  ];
};

const NOTIFIED = new Set<string>(NOTIFIED_MESSAGE_STATUSES);

const messageEvents = (change: StoredChange, item: Record<string, unknown>): EventDraft[] => {
  const tenantId = str(item.tenantId);
  const sessionId = str(item.sessionId);
  const messageId = str(item.messageId);
  if (!tenantId || !sessionId || !messageId) return [];
  const chatbotId = str(item.chatbotId);
  const base = { tenantId, sessionId, ...(chatbotId && { chatbotId }) };
  if (item.direction === 'in') {
    // Inbound messages are stored once, already received: their insert is the event.
    const createdAt = str(item.createdAt);
    const conversationId = str(item.conversationId);
    const waMessageId = str(item.waMessageId);
    const from = str(item.from);
    if (change.eventName !== 'INSERT' || !createdAt || !conversationId || !waMessageId || !from) return [];
    return [
      {
        ...base,
        eventId: stableEventId(String(item.pk), 'message.received'),
        type: 'message.received',
        timestamp: createdAt,
        data: defined({
          sessionId,
          chatbotId,
          conversationId,
          messageId,
          waMessageId,
          from,
          pushName: str(item.pushName),
          text: str(item.text),
          media: item.media ?? undefined,
          timestamp: createdAt,
        }),
      },
    ];
  }
  const status = str(item.status);
  const updatedAt = str(item.updatedAt);
  if (item.direction !== 'out' || !status || !updatedAt || !NOTIFIED.has(status)) return [];
  const previous = str(change.oldImage?.status);
  if (previous === status) return []; // a claim, a retry stamp
  // A receipt stored before the SENT write makes that write needless (the runner skips it, see
  // session-runner/session-send.ts): the steps it passed are still told, in order, before it.
  const from = previous ? DELIVERY_STEPS.indexOf(previous) : -1;
  const to = DELIVERY_STEPS.indexOf(status);
  const passed = previous && to > 0 ? DELIVERY_STEPS.slice(from + 1, to) : [];
  return [...passed, status].map((s) => ({
    ...base,
    eventId: stableEventId(String(item.pk), 'message.status', s, updatedAt),
    type: 'message.status' as const,
    timestamp: updatedAt,
    data: defined({
      sessionId,
      messageId,
      waMessageId: str(item.waMessageId),
      status: s,
      error: s === 'FAILED' ? str(item.error) : undefined,
    }),
  }));
};

/** An outbound message's statuses in their order (`FAILED` is apart: it follows QUEUED only). */
const DELIVERY_STEPS = ['QUEUED', 'SENT', 'DELIVERED', 'READ'];

/**
 * The events one stored change produces: `session.status` when a session's status changed (or
 * a new QR was stored), `message.received` when an inbound message was stored, `message.status`
 * when an outbound message reached SENT, DELIVERED, READ or FAILED. Anything else (chatbots,
 * conversations, id mappings, deletions, heartbeats) produces none.
 */
export const eventsFromChange = (change: StoredChange): EventDraft[] => {
  const item = change.newImage;
  if (change.eventName === 'REMOVE' || !item) return [];
  const pk = String(item.pk ?? '');
  if (pk.startsWith('SESSION#')) return sessionEvents(change, item);
  if (pk.startsWith('MESSAGE#')) return messageEvents(change, item);
  return [];
};
