// Baileys keeps 812 one-time pre-keys per device (more after each refill), and the durable auth state
// holds every key of a session in memory: as objects of two 32-byte Buffers each they were most of
// what an idle session's auth state kept (about 300 bytes a pre-key on the V8 heap plus a slice of a
// shared 8 KB Buffer pool slab). Packed, a pre-key is one string of its two keys in base64 (88
// characters): a third of that. Baileys reads a pre-key only when a contact opens a Signal session
// with it, so the unpacking is off every hot path.

const KEY_BYTES = 32;
const KEY_CHARS = 44;

const isKey = (value: unknown): value is Uint8Array =>
  value instanceof Uint8Array && value.length === KEY_BYTES;

/**
 * The pre-key packed (its private then its public key, 44 base64 characters each), or the value itself when it is not exactly Baileys' key pair
 * (`{ private, public }`, 32 bytes each, nothing else): anything else is kept as it came.
 */
export const packPreKey = (value: unknown): unknown => {
  if (typeof value !== 'object' || value === null) return value;
  const pair = value as Record<string, unknown>;
  const keys = Object.keys(pair);
  if (keys.length !== 2 || !isKey(pair.private) || !isKey(pair.public)) return value;
  const base64 = (bytes: Uint8Array) =>
    Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('base64');
  return base64(pair.private) + base64(pair.public);
};

/** A pre-key as Baileys made it (`{ private, public }` Buffers, new ones on every call); other values as they are. */
export const unpackPreKey = (value: unknown): unknown => {
  if (typeof value !== 'string') return value;
  return {
    private: Buffer.from(value.slice(0, KEY_CHARS), 'base64'),
    public: Buffer.from(value.slice(KEY_CHARS), 'base64'),
  };
};
