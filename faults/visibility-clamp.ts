import { startHttpHop } from './http-hop.ts';

/**
 * An HTTP hop in front of the SQS double that, while clamped, shortens every visibility timeout a
 * client asks for (on ReceiveMessage and ChangeMessageVisibility) to `seconds`: SQS whose messages
 * come back while the runner still works on them. The double does not check signatures, so the
 * rewritten JSON body is accepted as sent.
 */
export interface VisibilityClamp {
  endpoint: string;
  clamp(seconds: number | undefined): void;
  /** Requests per SQS action so far (npm run bench counts AWS requests here). */
  counts(): Record<string, number>;
  /**
   * Resolves once every `action` request open now (forwarded, its answer not yet sent back) has
   * ended: a receive long-polling when an outage began, for instance, which the outage does not end.
   */
  settled(action: string): Promise<void>;
  close(): Promise<void>;
}

/** Forwards to `target`, rewriting visibility timeouts while a clamp is set. */
export const startVisibilityClamp = async (target: string): Promise<VisibilityClamp> => {
  let limit: number | undefined;
  const counts: Record<string, number> = {};
  const open = new Map<string, Set<Promise<void>>>();
  const hop = await startHttpHop(target, (req, res, sent, forward) => {
    let body = sent;
    const action = String(req.headers['x-amz-target'] ?? '');
    const name = action.split('.').pop() || 'unknown';
    counts[name] = (counts[name] ?? 0) + 1;
    const pending = open.get(name) ?? new Set<Promise<void>>();
    open.set(name, pending);
    // 'close' comes once the answer is sent or the connection is gone, whichever is first.
    const ended = new Promise<void>((resolve) => res.once('close', resolve));
    pending.add(ended);
    void ended.then(() => pending.delete(ended));
    if (limit !== undefined && /ReceiveMessage|ChangeMessageVisibility$/.test(action) && body.length) {
      const input = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
      if (input.VisibilityTimeout === undefined || Number(input.VisibilityTimeout) > limit)
        input.VisibilityTimeout = limit;
      body = Buffer.from(JSON.stringify(input));
    }
    forward(body);
  });
  return {
    ...hop,
    clamp: (seconds) => {
      limit = seconds;
    },
    counts: () => ({ ...counts }),
    settled: async (action) => {
      await Promise.all([...(open.get(action) ?? [])]);
    },
  };
};
