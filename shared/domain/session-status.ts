export const SESSION_STATUSES = [
  'DISCONNECTED',
  'CONNECTING',
  'QR_READY',
  'CONNECTED',
  'LOGGED_OUT',
  // Asked to be deleted by its tenant; the runner deletes it (and its auth state) from here.
  'DELETING',
] as const;
export type SessionStatus = (typeof SESSION_STATUSES)[number];

/**
 * The allowed transitions, in one place. Any status may fall back to DISCONNECTED or LOGGED_OUT
 * (socket closed, phone unlinked); a reconnect goes through CONNECTING without a new QR.
 * Any status may become DELETING, and DELETING is final: no runner write can bring a session the
 * tenant deleted back (the record itself is deleted by the runner).
 */
const NEXT: Record<SessionStatus, readonly SessionStatus[]> = {
  DISCONNECTED: ['CONNECTING', 'LOGGED_OUT', 'DELETING'],
  // CONNECTING again: a retry that could not reach WhatsApp records its lastError and tries on.
  CONNECTING: ['CONNECTING', 'QR_READY', 'CONNECTED', 'DISCONNECTED', 'LOGGED_OUT', 'DELETING'],
  QR_READY: ['QR_READY', 'CONNECTING', 'CONNECTED', 'DISCONNECTED', 'LOGGED_OUT', 'DELETING'],
  CONNECTED: ['CONNECTING', 'DISCONNECTED', 'LOGGED_OUT', 'DELETING'],
  LOGGED_OUT: ['CONNECTING', 'DISCONNECTED', 'DELETING'],
  DELETING: [],
};

export const canTransition = (from: SessionStatus, to: SessionStatus): boolean => NEXT[from].includes(to);

/** The statuses from which `to` may be entered: the condition of a guarded status write. */
export const allowedPredecessors = (to: SessionStatus): SessionStatus[] =>
  SESSION_STATUSES.filter((from) => canTransition(from, to));

export const MESSAGE_STATUSES = ['QUEUED', 'SENT', 'DELIVERED', 'READ', 'FAILED'] as const;
export type MessageStatus = (typeof MESSAGE_STATUSES)[number];

const MESSAGE_RANK: Record<MessageStatus, number> = { QUEUED: 0, SENT: 1, DELIVERED: 2, READ: 3, FAILED: 1 };

/** Receipts can arrive out of order: a message status only moves forward. */
export const isMessageProgress = (from: MessageStatus, to: MessageStatus): boolean =>
  from !== 'FAILED' && MESSAGE_RANK[to] > MESSAGE_RANK[from];
