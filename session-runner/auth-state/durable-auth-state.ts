import {
  type AuthenticationCreds,
  type AuthenticationState,
  BufferJSON,
  initAuthCreds,
  proto,
  type SignalDataSet,
  type SignalDataTypeMap,
  type SignalKeyStore,
} from '@whiskeysockets/baileys';
import type { ObjectStore } from '#shared/ports/object-store.ts';
import {
  type EntryKind,
  entryKey,
  type JournalEntryName,
  parseEntryKey,
  sessionPrefix,
  validChain,
} from './journal-keys.ts';

type KeyType = keyof SignalDataTypeMap;
type KeyMap = Map<string, Map<string, unknown>>;

interface EntryBody {
  v: 1;
  kind: EntryKind;
  fence: number;
  creds?: AuthenticationCreds;
  keys?: Record<string, Record<string, unknown>>;
}

export interface DurableAuthStateOptions {
  store: ObjectStore;
  sessionId: string;
  /** The fencing token of the shard lease this runner holds. */
  fence: number;
  /** Journal entries after which the state is compacted into a snapshot. */
  compactEvery?: number;
}

const encode = (body: EntryBody) => Buffer.from(JSON.stringify(body, BufferJSON.replacer));
const decode = (bytes: Buffer) => JSON.parse(bytes.toString('utf8'), BufferJSON.reviver) as EntryBody;

/**
 * Baileys auth state (creds + Signal keys) in S3 as an append-only journal of whole commits,
 * compacted into snapshots. One Baileys key transaction is one object, so a crash never leaves a torn
 * ratchet; `keys.set` resolves only once that object is stored, and memory changes only after it.
 * Every object carries the lease fence; the loader ignores what a fenced-out runner wrote later.
 */
export class DurableAuthState {
  readonly state: AuthenticationState;
  private readonly keyMap: KeyMap;
  private readonly prefix: string;
  private readonly known: JournalEntryName[];
  private nextSeq: number;
  private sinceSnapshot = 0;
  private tail: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly options: DurableAuthStateOptions,
    creds: AuthenticationCreds,
    keyMap: KeyMap,
    known: JournalEntryName[],
  ) {
    this.prefix = sessionPrefix(options.sessionId);
    this.keyMap = keyMap;
    this.known = known;
    this.nextSeq = Math.max(0, ...known.map((e) => e.seq)) + 1;
    const keys: SignalKeyStore = {
      get: async (type, ids) => this.read(type, ids) as never,
      // Baileys rewrites unchanged keys (the LID mapping on every message): those cost no PUT. The
      // comparison runs in turn, against memory that holds every earlier commit.
      set: (data) =>
        this.commit(
          () => {
            const changed = this.changesOf(data);
            return changed && { kind: 'keys', keys: changed };
          },
          () => this.apply(data),
        ),
    };
    this.state = { creds, keys };
  }

  /** Loads the session's state (fresh creds when there is none) and takes it over under `fence`. */
  static async load(options: DurableAuthStateOptions): Promise<DurableAuthState> {
    const names = (await options.store.list(sessionPrefix(options.sessionId))).flatMap(
      (k) => parseEntryKey(k) ?? [],
    );
    const chain = validChain(names);
    let creds: AuthenticationCreds | undefined;
    const keyMap: KeyMap = new Map();
    for (const entry of chain) {
      const bytes = await options.store.get(entry.key);
      if (!bytes) throw new Error(`auth state object vanished: ${entry.key}`);
      const body = decode(bytes);
      if (body.kind === 'snapshot') keyMap.clear();
      if (body.creds) creds = body.creds;
      for (const [type, values] of Object.entries(body.keys ?? {})) mergeKeys(keyMap, type, values);
    }
    const auth = new DurableAuthState(options, creds ?? initAuthCreds(), keyMap, names);
    // A new owner starts its own chain with a snapshot, so nothing older is needed any more.
    if (chain.length > 0 && Math.max(...chain.map((e) => e.fence)) < options.fence) await auth.snapshot();
    return auth;
  }

  /** Whether the device is linked (`creds.me` is set after pairing; `registered` is not, for QR). */
  get linked(): boolean {
    return this.state.creds.me !== undefined;
  }

  /** Journals the whole creds object (Baileys' `creds.update`). */
  saveCreds(): Promise<void> {
    return this.commit(
      () => ({ kind: 'creds', creds: this.state.creds }),
      () => undefined,
    );
  }

  /** Writes a snapshot and deletes what it supersedes (on shutdown, and every `compactEvery` commits). */
  snapshot(): Promise<void> {
    return this.enqueue(async () => {
      const seq = this.nextSeq++;
      await this.options.store.put(
        entryKey(this.prefix, seq, this.options.fence, 'snapshot'),
        encode(this.snapshotBody()),
      );
      // Only our own fence's (or older) objects: a zombie must never delete its successor's.
      const obsolete = this.known.filter((e) => e.seq < seq && e.fence <= this.options.fence);
      this.known.splice(0, this.known.length, ...this.known.filter((e) => !obsolete.includes(e)));
      this.known.push({
        key: entryKey(this.prefix, seq, this.options.fence, 'snapshot'),
        seq,
        fence: this.options.fence,
        kind: 'snapshot',
      });
      this.sinceSnapshot = 0;
      if (obsolete.length > 0) await this.options.store.delete(obsolete.map((e) => e.key));
    });
  }

  /** Deletes every object of the session (logout: a new QR is needed). */
  async destroy(): Promise<void> {
    await this.enqueue(async () => {
      await this.options.store.delete(await this.options.store.list(this.prefix));
      this.known.length = 0;
    });
  }

  /** Waits for every write started so far. */
  async settle(): Promise<void> {
    await this.tail.catch(() => undefined);
  }

  private read(type: KeyType, ids: string[]): Record<string, unknown> {
    const values = this.keyMap.get(type);
    const out: Record<string, unknown> = {};
    for (const id of ids) {
      let value = values?.get(id);
      if (value === undefined) continue;
      if (type === 'app-state-sync-key')
        value = proto.Message.AppStateSyncKeyData.fromObject(value as object);
      out[id] = value;
    }
    return out;
  }

  /** The entries of `data` that differ from memory, or undefined when nothing would change. */
  private changesOf(data: SignalDataSet): EntryBody['keys'] | undefined {
    let changed: Record<string, Record<string, unknown>> | undefined;
    for (const [type, values] of Object.entries(data)) {
      const current = this.keyMap.get(type);
      for (const [id, value] of Object.entries(values ?? {})) {
        const before = current?.get(id);
        const same =
          value === null || value === undefined
            ? before === undefined
            : before !== undefined &&
              JSON.stringify(before, BufferJSON.replacer) === JSON.stringify(value, BufferJSON.replacer);
        if (same) continue;
        changed ??= {};
        changed[type] ??= {};
        (changed[type] as Record<string, unknown>)[id] = value ?? null;
      }
    }
    return changed;
  }

  private apply(data: SignalDataSet): void {
    for (const [type, values] of Object.entries(data)) mergeKeys(this.keyMap, type, values ?? {});
  }

  /**
   * Stores one entry, then (only then) changes memory; writes are serialized in sequence order. The
   * entry is made in turn (`makeBody`), and undefined means there is nothing to write.
   */
  private commit(
    makeBody: () => Omit<EntryBody, 'v' | 'fence'> | undefined,
    afterDurable: () => void,
  ): Promise<void> {
    return this.enqueue(async () => {
      const body = makeBody();
      if (!body) return;
      const seq = this.nextSeq++;
      const key = entryKey(this.prefix, seq, this.options.fence, body.kind);
      await this.options.store.put(key, encode({ v: 1, fence: this.options.fence, ...body }));
      this.known.push({ key, seq, fence: this.options.fence, kind: body.kind });
      afterDurable();
      this.sinceSnapshot++;
    }).then(() => (this.sinceSnapshot >= (this.options.compactEvery ?? 50) ? this.snapshot() : undefined));
  }

  private enqueue(work: () => Promise<void>): Promise<void> {
    const run = this.tail.catch(() => undefined).then(work);
    this.tail = run;
    return run;
  }

  private snapshotBody(): EntryBody {
    const keys: Record<string, Record<string, unknown>> = {};
    for (const [type, values] of this.keyMap) keys[type] = Object.fromEntries(values);
    return { v: 1, kind: 'snapshot', fence: this.options.fence, creds: this.state.creds, keys };
  }
}

const mergeKeys = (keyMap: KeyMap, type: string, values: Record<string, unknown>) => {
  const bucket = keyMap.get(type) ?? new Map<string, unknown>();
  keyMap.set(type, bucket);
  for (const [id, value] of Object.entries(values)) {
    if (value === null || value === undefined) bucket.delete(id);
    else bucket.set(id, value);
  }
};
