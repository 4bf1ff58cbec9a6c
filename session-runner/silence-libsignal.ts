// The first argument of every console line libsignal 6 writes. Several of them are followed by a
// whole SessionEntry, private keys included, so they must never reach a log.
const LIBSIGNAL_LINE_PREFIXES = [
  'Closing session',
  'Opening session',
  'Removing old closed session',
  'Session already closed',
  'Session already open',
  'Closing open session in favor of incoming prekey bundle',
  'Decrypted message with closed session',
  'Failed to decrypt message with any known session',
  'Session error:',
  'Migrating session to:',
  'V1 session storage migration error',
  'WARNING: Expected pubkey of length 33',
  'Unhandled bucket type',
] as const;

const METHODS = ['log', 'info', 'warn', 'error', 'debug'] as const;
const installed = Symbol.for('whatsapp-gateway.silence-libsignal');

/** True for a console call libsignal makes (judged by its first argument). */
export function isLibsignalConsoleLine(args: readonly unknown[]): boolean {
  const first = args[0];
  return typeof first === 'string' && LIBSIGNAL_LINE_PREFIXES.some((prefix) => first.startsWith(prefix));
}

/**
 * Drops libsignal's console lines (session dumps with private keys, decrypt noise) and lets
 * every other console call through unchanged. Idempotent: wraps the console once per process.
 */
export function silenceLibsignal(target: Console = console): void {
  const marked = target as Console & { [installed]?: true };
  if (marked[installed]) return;
  marked[installed] = true;
  for (const method of METHODS) {
    const original = target[method].bind(target);
    target[method] = (...args: unknown[]) => {
      if (!isLibsignalConsoleLine(args)) original(...args);
    };
  }
}
