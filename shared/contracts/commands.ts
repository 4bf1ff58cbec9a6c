import * as z from 'zod';
import { MessageText, Uuid } from './common.ts';

const base = { v: z.literal(1), sessionId: Uuid, commandId: z.string().min(1).max(128) };

export const StartCommand = z.object({
  ...base,
  type: z.literal('start'),
  pairingPhoneNumber: z.string().optional(),
});
export const SendCommand = z.object({
  ...base,
  type: z.literal('send'),
  messageId: Uuid,
  to: z.string().min(1),
  text: MessageText,
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
export type DeleteCommand = z.infer<typeof DeleteCommand>;
