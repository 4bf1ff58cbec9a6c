import type { MessageMedia } from './media.ts';
import type { MessageStatus, SessionStatus } from './session-status.ts';

export interface Tenant {
  tenantId: string;
  name: string;
  createdAt: string;
  /** A disabled tenant's keys are refused (401) until it is enabled again; nothing is deleted. */
  disabled?: boolean;
  updatedAt?: string;
}

export interface Chatbot {
  tenantId: string;
  chatbotId: string;
  name: string;
  aiEnabled: boolean;
  systemPrompt: string;
  model?: string;
  /** AI replies mark the answered message read and show "typing…" first; unset means on. */
  conversationManners?: boolean;
  /** The chatbot's one session, set once at the first init. */
  sessionId?: string;
  createdAt: string;
  updatedAt: string;
}

/** Whether the runner should hold a socket for the session. */
export type DesiredState = 'running' | 'stopped';

export interface Session {
  sessionId: string;
  tenantId: string;
  chatbotId: string;
  shard: number;
  status: SessionStatus;
  desiredState: DesiredState;
  pairingPhoneNumber?: string;
  pairingCode?: string;
  phoneNumber?: string;
  lastError?: string;
  qr?: string;
  qrExpiresAt?: string;
  connectedAt?: string;
  runnerSeenAt?: string;
  /** The fencing token of the runner lease that made the last runner write. */
  fence?: number;
  createdAt: string;
  updatedAt: string;
}

export interface Message {
  messageId: string;
  tenantId: string;
  sessionId: string;
  direction: 'out' | 'in';
  /** The peer's JID for outbound messages, our own number's JID for inbound ones. */
  to: string;
  from?: string;
  /** The sender's display name (WhatsApp's push name) of an inbound message, when it sent one. */
  pushName?: string;
  text: string;
  status: MessageStatus;
  waMessageId?: string;
  error?: string;
  conversationId?: string;
  /** The file the message carries (`text` is then a note of it, e.g. `[image: caption]`). */
  media?: MessageMedia;
  /**
   * A sent file's WhatsApp media message (proto, base64), to answer a recipient's retry request
   * with the file. Holds the media key, a secret: never in a view, a webhook or a log.
   */
  waMedia?: string;
  createdAt: string;
  updatedAt: string;
}

export interface IdempotencyRecord {
  tenantId: string;
  key: string;
  /** Hash of the request the key was first used with: a different request under the same key is refused. */
  fingerprint: string;
  messageId: string;
  createdAt: string;
  expiresAt: string;
}

export const DEFAULT_SYSTEM_PROMPT =
  'You are a helpful assistant answering WhatsApp messages. Be brief, friendly and accurate.';
