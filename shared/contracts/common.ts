import { MESSAGE_STATUSES, SESSION_STATUSES } from '../domain/session-status.ts';
import { isWhatsAppAddress } from '../domain/whatsapp-address.ts';
import * as z from '../zod.ts';

export const ChatbotId = z
  .string()
  .check(z.regex(/^[A-Za-z0-9_-]{1,128}$/, 'must be 1-128 characters of A-Z, a-z, 0-9, _ and -'));
export const Uuid = z.uuid('must be a UUID');
export const Timestamp = z.iso.datetime({ offset: true });
export const SessionStatusSchema = z.enum(SESSION_STATUSES);
export const MessageStatusSchema = z.enum(MESSAGE_STATUSES);
export const WhatsAppAddress = z
  .string()
  .check(z.refine(isWhatsAppAddress, 'must be an E.164 number (+ optional) or a WhatsApp JID'));
export const MessageText = z
  .string()
  .check(z.minLength(1, 'must not be empty'), z.maxLength(4096, 'must be at most 4096 characters'));
export const PhoneNumber = z.string().check(z.regex(/^\+?[1-9]\d{6,14}$/, 'must be an E.164 number'));
export const IsoDate = z.iso.date('must be a date YYYY-MM-DD');
