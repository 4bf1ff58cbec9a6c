// Object names of a session's auth-state journal: `<prefix><seq>-<fence>-<kind>.json`, zero-padded so
// that a lexicographic listing is in sequence order.

export type EntryKind = 'keys' | 'creds' | 'snapshot';

export interface JournalEntryName {
  key: string;
  seq: number;
  fence: number;
  kind: EntryKind;
}

const KIND_CODE: Record<EntryKind, string> = { keys: 'k', creds: 'c', snapshot: 's' };
const CODE_KIND: Record<string, EntryKind> = { k: 'keys', c: 'creds', s: 'snapshot' };
const NAME = /(\d{12})-(\d{10})-([kcs])\.json$/;

export const sessionPrefix = (sessionId: string) => `sessions/${sessionId}/auth/`;

export const entryKey = (prefix: string, seq: number, fence: number, kind: EntryKind): string =>
  `${prefix}${String(seq).padStart(12, '0')}-${String(fence).padStart(10, '0')}-${KIND_CODE[kind]}.json`;

export const parseEntryKey = (key: string): JournalEntryName | undefined => {
  const m = NAME.exec(key);
  const kind = m && CODE_KIND[m[3] as string];
  return m && kind ? { key, seq: Number(m[1]), fence: Number(m[2]), kind } : undefined;
};

/**
 * The entries that make up the current state, oldest first. At one sequence number the highest
 * fence wins, and once a fence has written, nothing with a lower fence counts any more: what a
 * runner writes after it lost its lease is ignored.
 */
export const validChain = (names: JournalEntryName[]): JournalEntryName[] => {
  const sorted = [...names].sort((a, b) => a.seq - b.seq || b.fence - a.fence);
  const chain: JournalEntryName[] = [];
  let maxFence = 0;
  let lastSeq = -1;
  for (const entry of sorted) {
    if (entry.seq === lastSeq || entry.fence < maxFence) continue;
    chain.push(entry);
    maxFence = entry.fence;
    lastSeq = entry.seq;
  }
  const lastSnapshot = chain.map((e) => e.kind).lastIndexOf('snapshot');
  return lastSnapshot > 0 ? chain.slice(lastSnapshot) : chain;
};
