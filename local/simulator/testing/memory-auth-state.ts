import {
  type AuthenticationCreds,
  type AuthenticationState,
  initAuthCreds,
  type SignalDataTypeMap,
} from '@whiskeysockets/baileys';

/**
 * A Baileys auth state that lives in memory: `creds` is updated in place by the socket's
 * `creds.update` events (wire them to `saveCreds`), keys are kept in a Map.
 */
export function useMemoryAuthState(creds: AuthenticationCreds = initAuthCreds()): {
  state: AuthenticationState;
  saveCreds: () => Promise<void>;
} {
  const keys = new Map<string, unknown>();
  const state: AuthenticationState = {
    creds,
    keys: {
      get: async <T extends keyof SignalDataTypeMap>(type: T, ids: string[]) => {
        const found: { [id: string]: SignalDataTypeMap[T] } = {};
        for (const id of ids) {
          const value = keys.get(`${type}:${id}`);
          if (value !== undefined) found[id] = value as SignalDataTypeMap[T];
        }
        return found;
      },
      set: async (data) => {
        for (const [type, entries] of Object.entries(data)) {
          for (const [id, value] of Object.entries(entries ?? {})) {
            if (value === null || value === undefined) keys.delete(`${type}:${id}`);
            else keys.set(`${type}:${id}`, value);
          }
        }
      },
    },
  };
  // The socket mutates `creds` itself; nothing else to persist.
  return { state, saveCreds: async () => {} };
}
