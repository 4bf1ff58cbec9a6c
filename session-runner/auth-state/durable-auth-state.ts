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
import { parseBufferJson } from './buffer-json.ts';
import {
  type EntryKind,
  entryKey,
  type JournalEntryName,
  parseEntryKey,
  sessionPrefix,
  validChain,
} from './journal-keys.ts';
import { packPreKey, unpackPreKey } from './packed-pre-key.ts';

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
  /** Waits between retries of a failed creds write (injected in tests). */
  sleep?: (ms: number) => Promise<void>;
  /** Reports a failure nobody awaits (a compaction, a creds write being retried). */
  onError?: (what: string, error: unknown) => void;
  /**
   * Quiet time after the last commit before a journal of `IDLE_COMPACT_AFTER` or more entries since
   * its snapshot is compacted (default 60 s; 0 never).
   */
  idleCompactMs?: number;
  /** Timers of the idle compaction (injected in tests; by default unref'd Node timers). */
  timers?: { setTimeout(fn: () => void, ms: number): unknown; clearTimeout(handle: unknown): void };
}

/** How often a load restarts when an object it listed vanished (a concurrent compaction). */
const LOAD_ATTEMPTS = 5;
const CREDS_RETRY_CAP_MS = 30_000;
/**
 * A shutdown compacts only a journal with at least this many entries after its snapshot: shorter
 * ones are read by the next owner in one round of parallel GETs, and a snapshot costs a 100+ KB
 * encode (Baileys' 812 pre-keys) per session while a drain of hundreds of them waits.
 */
const SHUTDOWN_COMPACT_AFTER = 10;
/**
 * A journal this long since its snapshot is compacted once the session has been quiet for
 * `idleCompactMs`: linking and every connect leave a few entries each, and the next owner's load reads
 * every one of them (a restart of hundreds of sessions waits for those GETs and decodes). Not on
 * every commit: a session that commits now and then gets at most one snapshot PUT per quiet spell
 * with this many entries behind it.
 */
const IDLE_COMPACT_AFTER = 4;
const IDLE_COMPACT_MS = 60_000;

const nodeTimers = {
  setTimeout: (fn: () => void, ms: number): unknown => setTimeout(fn, ms).unref(),
  clearTimeout: (handle: unknown) => clearTimeout(handle as NodeJS.Timeout),
};

const encode = (body: EntryBody) => Buffer.from(JSON.stringify(body, BufferJSON.replacer));
const encodeCreds = (creds: AuthenticationCreds) => JSON.stringify(creds, BufferJSON.replacer);
// Same result as `JSON.parse(…, BufferJSON.reviver)`, a few times faster (buffer-json.ts).
const decode = (bytes: Buffer) => parseBufferJson(bytes.toString('utf8')) as EntryBody;

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
  /**
   * The journal of this fence is one snapshot and nothing after it: a snapshot now would write the
   * same state again (a drain of hundreds of idle sessions skips those PUTs, LISTs and DELETEs).
   */
  private compact: boolean;
  private tail: Promise<unknown> = Promise.resolve();
  /** A creds write queued and not started yet: later `creds.update`s join it (it writes the latest creds). */
  private pendingCreds?: Promise<void>;
  private abandoned = false;
  /** A PUT failed since the last snapshot: it may have been stored all the same. */
  private doubtful = false;
  /**
   * The creds as the journal holds them now (encoded), set once a write of them is stored: Baileys
   * emits `creds.update` on every connect with what it already has (`me` with the same LID), and a
   * write of the same creds again is a PUT, an encode and a journal entry for nothing.
   */
  private storedCreds?: string;
  private idleTimer?: unknown;
  /** Shut down, destroyed, abandoned or retired: no idle compaction any more. */
  private closed = false;
  /**
   * The session ended (`retire`): a next instance of it may already own the journal under the same
   * fence and the same sequence numbers, so this one writes nothing more.
   */
  private retired = false;

  private constructor(
    private readonly options: DurableAuthStateOptions,
    creds: AuthenticationCreds,
    keyMap: KeyMap,
    known: JournalEntryName[],
    compact: boolean,
    sinceSnapshot: number,
    storedCreds: string | undefined,
  ) {
    this.compact = compact;
    this.storedCreds = storedCreds;
    this.sinceSnapshot = sinceSnapshot;
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
    for (let attempt = 1; ; attempt++) {
      try {
        return await DurableAuthState.loadOnce(options);
      } catch (error) {
        // Another runner (a zombie) compacted while this one read: its new snapshot is listed now.
        if (!(error instanceof VanishedError) || attempt >= LOAD_ATTEMPTS) throw error;
      }
    }
  }

  private static async loadOnce(options: DurableAuthStateOptions): Promise<DurableAuthState> {
    const names = (await options.store.list(sessionPrefix(options.sessionId))).flatMap(
      (k) => parseEntryKey(k) ?? [],
    );
    const chain = validChain(names);
    let creds: AuthenticationCreds | undefined;
    let storedCreds: string | undefined;
    const keyMap: KeyMap = new Map();
    // Read at the same time, applied in order: a resume of hundreds of sessions waits for one
    // round trip per session instead of one per journal entry.
    const bodies = await Promise.all(
      chain.map(async (entry) => {
        const bytes = await options.store.get(entry.key);
        if (!bytes) throw new VanishedError(entry.key);
        return decode(bytes);
      }),
    );
    for (const body of bodies) {
      if (body.kind === 'snapshot') keyMap.clear();
      if (body.creds) creds = body.creds;
      for (const [type, values] of Object.entries(body.keys ?? {})) mergeKeys(keyMap, type, values);
    }
    const only = chain.length === 1 ? chain[0] : undefined;
    const compact = only?.kind === 'snapshot' && only.fence === options.fence;
    const sinceSnapshot = chain.length - (chain[0]?.kind === 'snapshot' ? 1 : 0);
    if (creds) storedCreds = encodeCreds(creds);
    const auth = new DurableAuthState(
      options,
      creds ?? initAuthCreds(),
      keyMap,
      names,
      compact,
      sinceSnapshot,
      storedCreds,
    );
    // A new owner first writes an entry under its fence (the creds, a few KB): from there on, what an
    // older fence writes no longer counts. Not a snapshot: that is a 100+ KB encode per session while
    // a takeover of hundreds waits; the journal is compacted after `compactEvery` entries anyway.
    if (chain.length > 0 && Math.max(...chain.map((e) => e.fence)) < options.fence) await auth.takeOver();
    return auth;
  }

  /** The new owner's first entry: the creds under its fence; a failure fails the load (not retried here). */
  private takeOver(): Promise<void> {
    let written = '';
    return this.commit(
      () => {
        written = encodeCreds(this.state.creds);
        return { kind: 'creds', creds: this.state.creds };
      },
      () => {
        this.storedCreds = written;
      },
    );
  }

  /** Whether the device is linked (`creds.me` is set after pairing; `registered` is not, for QR). */
  get linked(): boolean {
    return this.state.creds.me !== undefined;
  }

  /**
   * Journals the whole creds object (Baileys' `creds.update`). A failed creds write stops the line:
   * it is retried (with backoff) before any later commit runs, because a key commit stored after a
   * lost creds write (a pre-key id advanced) would be reused after a crash. Saves that are queued
   * together are one write of the latest creds; creds equal to the stored ones are not written again.
   */
  saveCreds(): Promise<void> {
    let written = '';
    this.pendingCreds ??= this.commit(
      () => {
        this.pendingCreds = undefined;
        // Compared in turn, after every earlier write is stored (or has failed and left this unset).
        written = encodeCreds(this.state.creds);
        return written === this.storedCreds ? undefined : { kind: 'creds', creds: this.state.creds };
      },
      () => {
        this.storedCreds = written;
      },
      true,
    );
    return this.pendingCreds;
  }

  /** The session is gone (lease lost): a creds write being retried gives up, later commits fail. */
  abandon(): void {
    this.abandoned = true;
    this.close();
  }

  /**
   * The session ended (WhatsApp closed it, or a stop): clears the idle compaction, refuses every later
   * write of this instance and waits for the ones started before. A next instance under the same
   * fence continues the same sequence numbers: a late snapshot of this one would take a number the
   * next one already wrote and delete the entries below it (the creds with them).
   */
  async retire(): Promise<void> {
    this.retired = true;
    this.close();
    await this.settle();
  }

  /**
   * Writes a snapshot and deletes what it supersedes (on shutdown, and every `compactEvery` commits);
   * nothing when this fence's journal is already one snapshot with nothing after it, or once retired.
   */
  snapshot(): Promise<void> {
    // Retired: a compaction changes no state, so it is skipped, not failed (a stop after WhatsApp
    // ended the session, a shutdown's flush).
    if (this.retired) return this.settle();
    return this.enqueue(async () => {
      if (this.compact) return;
      const seq = this.nextSeq++;
      const body = this.snapshotBody();
      const creds = encodeCreds(body.creds as AuthenticationCreds);
      // A PUT that fails may still be stored: until one is, which creds the journal holds is unknown.
      this.storedCreds = undefined;
      await this.options.store.put(entryKey(this.prefix, seq, this.options.fence, 'snapshot'), encode(body));
      this.storedCreds = creds;
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
      this.compact = true;
      this.doubtful = false;
      if (obsolete.length === 0) return;
      // A newer owner's object means this runner is a zombie: the newer owner may be reading the
      // objects this one would delete, so it deletes nothing (the owner's own snapshot cleans up).
      const current = (await this.options.store.list(this.prefix)).flatMap((k) => parseEntryKey(k) ?? []);
      if (current.some((e) => e.fence > this.options.fence)) return;
      await this.options.store.delete(obsolete.map((e) => e.key));
    });
  }

  /**
   * Shutdown: waits for every write started so far, then compacts the journal only when it is long
   * (`SHUTDOWN_COMPACT_AFTER`) or a write failed (it may have been stored anyway: a snapshot hides it),
   * or when nothing is stored yet (a session still showing its QR keeps its keys for the next runner).
   */
  async flush(): Promise<void> {
    this.close();
    await this.settle();
    if (this.doubtful || this.sinceSnapshot >= SHUTDOWN_COMPACT_AFTER || this.known.length === 0)
      await this.snapshot();
  }

  /** Deletes every object of the session (logout: a new QR is needed). */
  async destroy(): Promise<void> {
    this.close();
    await this.enqueue(async () => {
      this.compact = false;
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
      if (type === 'pre-key') value = unpackPreKey(value);
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
            : before !== undefined && sameHeld(before, held(type, value));
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
    retryUntilStored = false,
  ): Promise<void> {
    // Refused when asked, not when run: what was asked before `retire` is stored, and awaited by it.
    if (this.retired) return Promise.reject(new RetiredError());
    return this.enqueue(async () => {
      if (this.abandoned) throw new Error('auth state abandoned');
      const body = makeBody();
      if (!body) return;
      const seq = this.nextSeq++;
      const key = entryKey(this.prefix, seq, this.options.fence, body.kind);
      // Before the PUT: one that fails may still have been stored, and only a snapshot hides it.
      this.compact = false;
      if (body.creds) this.storedCreds = undefined;
      for (let attempt = 0; ; attempt++) {
        try {
          await this.options.store.put(key, encode({ v: 1, fence: this.options.fence, ...body }));
          break;
        } catch (error) {
          this.doubtful = true;
          if (!retryUntilStored || this.abandoned) throw error;
          this.options.onError?.('creds write failed: retrying before any later commit', error);
          await this.sleep(Math.min(CREDS_RETRY_CAP_MS, 250 * 2 ** Math.min(attempt, 10)));
        }
      }
      this.known.push({ key, seq, fence: this.options.fence, kind: body.kind });
      afterDurable();
      this.sinceSnapshot++;
      this.armIdleCompaction();
    }).then(() => {
      // The commit is stored: a failed compaction is not its failure (the next commit tries again).
      if (!this.retired && this.sinceSnapshot >= (this.options.compactEvery ?? 50))
        void this.snapshot().catch((e) => this.options.onError?.('compaction failed', e));
    });
  }

  /** (Re)starts the quiet-time wait after a commit, when the journal is long enough to compact. */
  private armIdleCompaction(): void {
    const ms = this.options.idleCompactMs ?? IDLE_COMPACT_MS;
    if (this.closed || ms <= 0 || this.sinceSnapshot < IDLE_COMPACT_AFTER) return;
    const timers = this.options.timers ?? nodeTimers;
    if (this.idleTimer !== undefined) timers.clearTimeout(this.idleTimer);
    this.idleTimer = timers.setTimeout(() => {
      this.idleTimer = undefined;
      if (this.closed || this.sinceSnapshot < IDLE_COMPACT_AFTER) return;
      void this.snapshot().catch((e) => this.options.onError?.('compaction failed', e));
    }, ms);
  }

  private close(): void {
    this.closed = true;
    if (this.idleTimer !== undefined) (this.options.timers ?? nodeTimers).clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
  }

  private sleep(ms: number): Promise<void> {
    return this.options.sleep ? this.options.sleep(ms) : new Promise((r) => setTimeout(r, ms));
  }

  private enqueue(work: () => Promise<void>): Promise<void> {
    const run = this.tail.catch(() => undefined).then(work);
    this.tail = run;
    return run;
  }

  private snapshotBody(): EntryBody {
    const keys: Record<string, Record<string, unknown>> = {};
    for (const [type, values] of this.keyMap)
      keys[type] = Object.fromEntries(
        type === 'pre-key' ? [...values].map(([id, value]) => [id, unpackPreKey(value)]) : values,
      );
    return { v: 1, kind: 'snapshot', fence: this.options.fence, creds: this.state.creds, keys };
  }
}

class RetiredError extends Error {
  constructor() {
    super('auth state retired: its session ended');
  }
}

class VanishedError extends Error {
  constructor(key: string) {
    super(`auth state object vanished: ${key}`);
  }
}

/** A key as memory holds it: pre-keys packed (packed-pre-key.ts: a third of the memory), the rest as they are. */
const held = (type: string, value: unknown): unknown => (type === 'pre-key' ? packPreKey(value) : value);

/** Whether two held values are the same key (a packed pre-key is a string, so is a LID mapping). */
const sameHeld = (a: unknown, b: unknown): boolean =>
  typeof a === 'string' || typeof b === 'string'
    ? a === b
    : JSON.stringify(a, BufferJSON.replacer) === JSON.stringify(b, BufferJSON.replacer);

const mergeKeys = (keyMap: KeyMap, type: string, values: Record<string, unknown>) => {
  const bucket = keyMap.get(type) ?? new Map<string, unknown>();
  keyMap.set(type, bucket);
  for (const [id, value] of Object.entries(values)) {
    if (value === null || value === undefined) bucket.delete(id);
    else bucket.set(id, held(type, value));
  }
};
