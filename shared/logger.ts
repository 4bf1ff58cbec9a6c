import { Logger } from '@aws-lambda-powertools/logger';

/**
 * Keys whose values never reach a log line. Code must not pass API keys, QR strings, auth state or
 * Signal keys to a logger at all; this is the second line of defence.
 */
const SECRET_KEYS =
  /^(authorization|x-api-key|api-?key|qr|qrcode|creds|keys|private|privkey|privateKey|secret|token|noiseKey|signedIdentityKey|advSecretKey)$/i;

/** A Powertools structured JSON logger that redacts secret-looking keys. */
export const createLogger = (serviceName: string): Logger =>
  new Logger({
    serviceName,
    jsonReplacerFn: (key: string, value: unknown) => (SECRET_KEYS.test(key) ? '[redacted]' : value),
  });

export type { Logger };
