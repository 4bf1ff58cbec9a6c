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
  close(): Promise<void>;
}

/** Forwards to `target`, rewriting visibility timeouts while a clamp is set. */
export const startVisibilityClamp = async (target: string): Promise<VisibilityClamp> => {
  let limit: number | undefined;
  const counts: Record<string, number> = {};
  const hop = await startHttpHop(target, (req, _res, sent, forward) => {
    let body = sent;
    const action = String(req.headers['x-amz-target'] ?? '');
    const name = action.split('.').pop() || 'unknown';
    counts[name] = (counts[name] ?? 0) + 1;
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
  };
};
