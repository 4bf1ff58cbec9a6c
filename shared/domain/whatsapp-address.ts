const E164 = /^\+?[1-9]\d{6,14}$/;
const USER_JID = /^[1-9]\d{5,19}@(s\.whatsapp\.net|lid)$/;
const GROUP_JID = /^\d{5,25}(-\d{5,15})?@g\.us$/;

/** Whether `to` is an E.164 number (`+` optional) or a WhatsApp user, LID or group JID. */
export const isWhatsAppAddress = (to: string): boolean =>
  E164.test(to) || USER_JID.test(to) || GROUP_JID.test(to);

/** Turns an accepted address into the JID WhatsApp routes by; callers validate with `isWhatsAppAddress` first. */
export const toJid = (to: string): string =>
  to.includes('@') ? to : `${to.replace(/^\+/, '')}@s.whatsapp.net`;

/** The digits of a user JID (`4915112345678:3@s.whatsapp.net` → `4915112345678`). */
export const phoneNumberOfJid = (jid: string): string | undefined =>
  /^(\d+)(?::\d+)?@s\.whatsapp\.net$/.exec(jid)?.[1];
