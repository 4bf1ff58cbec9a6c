import { describe, expect, it } from 'vitest';
import { entryKey, type JournalEntryName, parseEntryKey, validChain } from './journal-keys.ts';

const e = (seq: number, fence: number, kind: JournalEntryName['kind'] = 'keys') =>
  parseEntryKey(entryKey('p/', seq, fence, kind)) as JournalEntryName;
const ids = (chain: JournalEntryName[]) => chain.map((x) => `${x.seq}-${x.fence}${x.kind[0]}`);

describe('auth-state journal chain', () => {
  it('round-trips names and lists in sequence order', () => {
    expect(parseEntryKey(entryKey('sessions/x/auth/', 42, 7, 'creds'))).toMatchObject({
      seq: 42,
      fence: 7,
      kind: 'creds',
    });
    expect(entryKey('p/', 2, 1, 'keys') < entryKey('p/', 10, 1, 'keys')).toBe(true);
    expect(parseEntryKey('p/garbage.json')).toBeUndefined();
  });

  it('starts at the last snapshot', () => {
    expect(ids(validChain([e(1, 1), e(2, 1, 'snapshot'), e(3, 1), e(4, 1, 'creds')]))).toEqual([
      '2-1s',
      '3-1k',
      '4-1c',
    ]);
  });

  it('ignores what a fenced-out runner wrote after the new owner started writing', () => {
    // Runner with fence 1 loaded at seq 2; runner with fence 2 took over and snapshotted at 3;
    // the zombie (fence 1) kept writing 3, 4 and even a snapshot at 5.
    const chain = validChain([
      e(1, 1),
      e(2, 1),
      e(3, 1),
      e(3, 2, 'snapshot'),
      e(4, 1),
      e(4, 2),
      e(5, 1, 'snapshot'),
      e(6, 2),
    ]);
    expect(ids(chain)).toEqual(['3-2s', '4-2k', '6-2k']);
  });

  it('keeps the old owner entries written before the takeover', () => {
    expect(ids(validChain([e(1, 1, 'snapshot'), e(2, 1), e(3, 2), e(4, 2)]))).toEqual([
      '1-1s',
      '2-1k',
      '3-2k',
      '4-2k',
    ]);
  });
});
