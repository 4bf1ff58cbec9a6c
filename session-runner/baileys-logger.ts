import type { UserFacingSocketConfig } from '@whiskeysockets/baileys';

type BaileysLogger = NonNullable<UserFacingSocketConfig['logger']>;
const noop = () => undefined;

/** Baileys' own logging stays off: its debug objects carry keys, QR data and message contents. */
export const silentBaileysLogger: BaileysLogger = {
  level: 'silent',
  child: () => silentBaileysLogger,
  trace: noop,
  debug: noop,
  info: noop,
  warn: noop,
  error: noop,
};
