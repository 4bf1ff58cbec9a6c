import { describe, expect, it } from 'vitest';
import { WEBHOOK_EVENTS } from '../contracts/webhook-events.ts';
import { eventsFromChange, type StoredChange } from './webhook-events-from-changes.ts';

const SESSION_ID = '8a1f7c2e-6d3b-4f4e-9a0b-1c2d3e4f5a6b';

const sessionItem = (fields: Record<string, unknown> = {}) => ({
  pk: `SESSION#${SESSION_ID}`,
  gsi1pk: 'SHARD#0',
  gsi1sk: SESSION_ID,
  sessionId: SESSION_ID,
  tenantId: 'tenant-a',
  chatbotId: 'bot-1',
  shard: 0,
  status: 'CONNECTING',
  desiredState: 'running',
  createdAt: '2026-01-01T12:00:00.000Z',
  updatedAt: '2026-01-01T12:00:01.000Z',
  ...fields,
});

const modify = (oldImage: Record<string, unknown>, newImage: Record<string, unknown>): StoredChange => ({
  eventName: 'MODIFY',
  oldImage,
  newImage,
});

const inbound = (fields: Record<string, unknown> = {}) => ({
  pk: 'MESSAGE#in-1',
  gsi1pk: 'CONV#conv-1',
  gsi1sk: '2026-01-01T12:00:05.000Z#in-1',
  messageId: 'in-1',
  tenantId: 'tenant-a',
  sessionId: SESSION_ID,
  conversationId: 'conv-1',
  direction: 'in',
  from: '15550001111@s.whatsapp.net',
  to: '15550002222@s.whatsapp.net',
  text: 'hello',
  status: 'DELIVERED',
  waMessageId: 'WA-IN-1',
  createdAt: '2026-01-01T12:00:05.000Z',
  updatedAt: '2026-01-01T12:00:06.000Z',
  ...fields,
});

const outbound = (fields: Record<string, unknown> = {}) => ({
  pk: 'MESSAGE#out-1',
  messageId: 'out-1',
  tenantId: 'tenant-a',
  sessionId: SESSION_ID,
  conversationId: 'conv-1',
  direction: 'out',
  to: '15550001111@s.whatsapp.net',
  text: 'hi',
  status: 'QUEUED',
  createdAt: '2026-01-01T12:00:07.000Z',
  updatedAt: '2026-01-01T12:00:07.000Z',
  ...fields,
});

/** The drafts, completed the way the fan-out completes them, must pass the published schemas. */
const expectValid = (change: StoredChange) => {
  for (const draft of eventsFromChange(change)) {
    const data = { chatbotId: 'bot-1', ...draft.data };
    const schema = WEBHOOK_EVENTS[draft.type];
    const parsed = schema.safeParse(draft.type === 'message.status' ? draft.data : data);
    expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
  }
};

describe('session.status', () => {
  it('is produced when the status changed, with the previous status from the old image', () => {
    const change = modify(
      sessionItem({ status: 'QR_READY', qr: 'qr-1' }),
      sessionItem({
        status: 'CONNECTED',
        phoneNumber: '+15550002222',
        updatedAt: '2026-01-01T12:00:09.000Z',
      }),
    );
    const [event, ...rest] = eventsFromChange(change);
    expect(rest).toEqual([]);
    expect(event).toMatchObject({
      type: 'session.status',
      tenantId: 'tenant-a',
      sessionId: SESSION_ID,
      chatbotId: 'bot-1',
      timestamp: '2026-01-01T12:00:09.000Z',
      data: {
        sessionId: SESSION_ID,
        chatbotId: 'bot-1',
        status: 'CONNECTED',
        previousStatus: 'QR_READY',
        phoneNumber: '+15550002222',
      },
    });
    expect(event?.data).not.toHaveProperty('qr');
    expectValid(change);
  });

  it('carries the QR string with QR_READY, and a QR refresh is a new event', () => {
    const first = modify(sessionItem(), sessionItem({ status: 'QR_READY', qr: 'qr-1' }));
    const refresh = modify(
      sessionItem({ status: 'QR_READY', qr: 'qr-1' }),
      sessionItem({ status: 'QR_READY', qr: 'qr-2', updatedAt: '2026-01-01T12:00:21.000Z' }),
    );
    const [a] = eventsFromChange(first);
    const [b] = eventsFromChange(refresh);
    expect(a?.data).toMatchObject({ status: 'QR_READY', previousStatus: 'CONNECTING', qr: 'qr-1' });
    expect(b?.data).toMatchObject({ status: 'QR_READY', previousStatus: 'QR_READY', qr: 'qr-2' });
    expect(a?.eventId).not.toBe(b?.eventId);
    expectValid(first);
    expectValid(refresh);
  });

  it('carries lastError when the session fell back', () => {
    const [event] = eventsFromChange(
      modify(
        sessionItem({ status: 'CONNECTED' }),
        sessionItem({
          status: 'LOGGED_OUT',
          lastError: 'LOGGED_OUT_BY_PHONE',
          updatedAt: '2026-01-01T13:00:00.000Z',
        }),
      ),
    );
    expect(event?.data).toMatchObject({ status: 'LOGGED_OUT', lastError: 'LOGGED_OUT_BY_PHONE' });
  });

  it('is produced for a newly created session, without a previous status', () => {
    const [event] = eventsFromChange({
      eventName: 'INSERT',
      newImage: sessionItem({ status: 'DISCONNECTED' }),
    });
    expect(event?.data).toEqual({ sessionId: SESSION_ID, chatbotId: 'bot-1', status: 'DISCONNECTED' });
  });

  it.each([
    ['a heartbeat', { runnerSeenAt: '2026-01-01T12:01:00.000Z' }],
    ['a desired-state change', { desiredState: 'stopped', updatedAt: '2026-01-01T12:02:00.000Z' }],
    ['a fence stamp', { fence: 7 }],
  ])('is not produced for %s', (_what, fields) => {
    const before = sessionItem({ status: 'CONNECTED' });
    expect(eventsFromChange(modify(before, { ...before, ...fields }))).toEqual([]);
  });

  it('is not produced for a deletion, a chatbot item or an item without the needed fields', () => {
    expect(eventsFromChange({ eventName: 'REMOVE', oldImage: sessionItem() })).toEqual([]);
    expect(
      eventsFromChange({
        eventName: 'INSERT',
        newImage: { pk: 'CHATBOT#tenant-a#bot-1', tenantId: 'tenant-a', chatbotId: 'bot-1', name: 'x' },
      }),
    ).toEqual([]);
    expect(eventsFromChange({ eventName: 'INSERT', newImage: { pk: `SESSION#${SESSION_ID}` } })).toEqual([]);
  });
});

describe('message.received', () => {
  it('is produced when an inbound message is stored', () => {
    const change: StoredChange = { eventName: 'INSERT', newImage: inbound({ pushName: 'Ann' }) };
    expect(eventsFromChange(change)).toEqual([
      expect.objectContaining({
        type: 'message.received',
        tenantId: 'tenant-a',
        sessionId: SESSION_ID,
        timestamp: '2026-01-01T12:00:05.000Z',
        data: {
          sessionId: SESSION_ID,
          conversationId: 'conv-1',
          messageId: 'in-1',
          waMessageId: 'WA-IN-1',
          from: '15550001111@s.whatsapp.net',
          pushName: 'Ann',
          text: 'hello',
          timestamp: '2026-01-01T12:00:05.000Z',
        },
      }),
    ]);
    expectValid(change);
  });

  it('is not produced again when the stored inbound message is modified', () => {
    expect(eventsFromChange(modify(inbound(), inbound({ status: 'READ' })))).toEqual([]);
  });
});

describe('message.status', () => {
  it.each([
    ['QUEUED', 'SENT', ['SENT']],
    ['SENT', 'DELIVERED', ['DELIVERED']],
    ['DELIVERED', 'READ', ['READ']],
    // A receipt stored before the SENT write (which the runner then skips): the steps passed first.
    ['QUEUED', 'DELIVERED', ['SENT', 'DELIVERED']],
    ['QUEUED', 'READ', ['SENT', 'DELIVERED', 'READ']],
    ['SENT', 'READ', ['DELIVERED', 'READ']],
  ])('is produced for each step when an outbound message goes from %s to %s', (from, to, steps) => {
    const change = modify(
      outbound({ status: from }),
      outbound({ status: to, waMessageId: 'WA-OUT-1', updatedAt: '2026-01-01T12:00:08.000Z' }),
    );
    const events = eventsFromChange(change);
    expect(events).toEqual(
      (steps as string[]).map((status) =>
        expect.objectContaining({
          type: 'message.status',
          timestamp: '2026-01-01T12:00:08.000Z',
          data: { sessionId: SESSION_ID, messageId: 'out-1', waMessageId: 'WA-OUT-1', status },
        }),
      ),
    );
    expect(new Set(events.map((e) => e.eventId)).size).toBe(events.length);
    expectValid(change);
  });

  it('carries the reason of a FAILED send', () => {
    const [event] = eventsFromChange(
      modify(
        outbound(),
        outbound({ status: 'FAILED', error: 'SESSION_NOT_CONNECTED', updatedAt: '2026-01-01T12:09:00.000Z' }),
      ),
    );
    expect(event?.data).toEqual({
      sessionId: SESSION_ID,
      messageId: 'out-1',
      status: 'FAILED',
      error: 'SESSION_NOT_CONNECTED',
    });
  });

  it('is not produced for a queued send, a send claim or an unchanged status', () => {
    expect(eventsFromChange({ eventName: 'INSERT', newImage: outbound() })).toEqual([]);
    expect(eventsFromChange(modify(outbound(), outbound({ claimedBy: 'runner-1', fence: 3 })))).toEqual([]);
    expect(
      eventsFromChange(modify(outbound({ status: 'SENT' }), outbound({ status: 'SENT', fence: 4 }))),
    ).toEqual([]);
  });

  it('is not produced for conversations and WhatsApp id mappings', () => {
    expect(
      eventsFromChange({ eventName: 'INSERT', newImage: { pk: 'CONVERSATION#conv-1', tenantId: 't' } }),
    ).toEqual([]);
    expect(
      eventsFromChange({ eventName: 'INSERT', newImage: { pk: `WAMSG#${SESSION_ID}#WA-1`, messageId: 'm' } }),
    ).toEqual([]);
  });
});

describe('event ids', () => {
  it('are the same for the same change seen twice (a redelivered stream batch), and differ between changes', () => {
    const change = modify(outbound(), outbound({ status: 'SENT', updatedAt: '2026-01-01T12:00:08.000Z' }));
    const again = structuredClone(change);
    const later = modify(
      outbound({ status: 'SENT' }),
      outbound({ status: 'DELIVERED', updatedAt: '2026-01-01T12:00:09.000Z' }),
    );
    const id = eventsFromChange(change)[0]?.eventId;
    expect(id).toMatch(/^evt_[A-Za-z0-9_-]{32}$/);
    expect(eventsFromChange(again)[0]?.eventId).toBe(id);
    expect(eventsFromChange(later)[0]?.eventId).not.toBe(id);
    const received = eventsFromChange({ eventName: 'INSERT', newImage: inbound() })[0]?.eventId;
    expect(eventsFromChange({ eventName: 'INSERT', newImage: inbound() })[0]?.eventId).toBe(received);
  });
});
