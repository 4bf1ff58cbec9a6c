import * as z from 'zod';
import { MessageText, Uuid } from './common.ts';

const base = { v: z.literal(1), sessionId: Uuid, commandId: z.string().min(1).max(128) };

export const StartCommand = z.object({
  ...base,
  type: z.literal('start'),
  pairingPhoneNumber: z.string().optional(),
});
/**
 * Conversation manners of an AI reply: the incoming message it answers is marked read, and the
 * contact sees "typing…" for a moment proportional to the reply before it arrives.
 */
export const SendManners = z.object({
  /** The incoming message being answered, and its chat JID. */
  readWaMessageId: z.string().min(1).max(256),
  chat: z.string().min(1).max(256),
});
/** The file of a send (the stored message's `media` is the truth; this copy is for reading the queue). */
export const SendMediaRef = z.object({
  /** Absent for a file sent by URL. */
  mediaId: Uuid.optional(),
  url: z.string().min(1).max(2048).optional(),
  mimeType: z.string().min(1).max(255),
  fileName: z.string().min(1).max(240).optional(),
  caption: z.string().min(1).max(1024).optional(),
});
export const SendCommand = z.object({
  ...base,
  type: z.literal('send'),
  messageId: Uuid,
  to: z.string().min(1),
  text: MessageText,
  manners: SendManners.optional(),
  media: SendMediaRef.optional(),
});
export const StopCommand = z.object({ ...base, type: z.literal('stop'), logout: z.boolean() });
/**
 * The tenant deleted the session (it is DELETING): unlink the device if it can, delete the auth
 * state and the session record; with `purge`, its conversations and messages too.
 */
export const DeleteCommand = z.object({ ...base, type: z.literal('delete'), purge: z.boolean() });

/** A command on `commands-<shard>.fifo`: one ordered stream per session (MessageGroupId = sessionId). */
export const Command = z.discriminatedUnion('type', [StartCommand, SendCommand, StopCommand, DeleteCommand]);
export type Command = z.infer<typeof Command>;
export type SendCommand = z.infer<typeof SendCommand>;
export type SendManners = z.infer<typeof SendManners>;
export type SendMediaRef = z.infer<typeof SendMediaRef>;
export type DeleteCommand = z.infer<typeof DeleteCommand>;
