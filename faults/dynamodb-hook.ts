import { startHttpHop } from './http-hop.ts';

/** What the hook does to a request a rule matches: answer 500, or never answer (a hung call). */
export type HookEffect = 'fail' | 'hang';

/** One armed fault: applied to the next `times` requests that match, or to every match for `forMs` from the first. */
export interface HookRule {
  /** The DynamoDB action (`Query`, `UpdateItem`, …) and a text the JSON body must contain. */
  action: string;
  bodyIncludes?: string;
  effect: HookEffect;
  times?: number;
  forMs?: number;
}

/** What the hook did, for a scenario's checks (epoch ms). */
export interface HookEvent {
  at: number;
  action: string;
  effect: HookEffect | 'passed';
}

/**
 * An HTTP hop in front of DynamoDB (Local) that fails or hangs chosen requests: "the listing of a
 * shard's sessions fails", "one lease call hangs". Rules apply in the order armed; a request that
 * no live rule matches is forwarded unchanged. Every request a rule has ever matched is logged
 * (passed or not), so a scenario can tell when the faulted call finally went through.
 */
export interface DynamoHook {
  endpoint: string;
  arm(rule: HookRule): void;
  /** Drops every armed rule and answers the hung requests with a reset. */
  clear(): void;
  events(): HookEvent[];
  close(): Promise<void>;
}

interface Armed extends HookRule {
  used: number;
  firstAt?: number;
}

/** Forwards to `target` (`http://host:port`), applying the armed rules. */
export const startDynamoHook = async (target: string): Promise<DynamoHook> => {
  let rules: Armed[] = [];
  const events: HookEvent[] = [];
  const hung = new Set<{ destroy(): void }>();
  /** Rules armed since the last clear(), used up or not: their matching requests are logged. */
  let watched: HookRule[] = [];

  const live = (rule: Armed, at: number) =>
    rule.forMs !== undefined
      ? rule.firstAt === undefined || at - rule.firstAt < rule.forMs
      : rule.used < (rule.times ?? 1);

  const hop = await startHttpHop(target, (req, res, body, forward) => {
    const action =
      String(req.headers['x-amz-target'] ?? '')
        .split('.')
        .pop() ?? '';
    const text = body.toString('utf8');
    const at = Date.now();
    const matches = (r: HookRule) =>
      r.action === action && (r.bodyIncludes === undefined || text.includes(r.bodyIncludes));
    const rule = rules.find((r) => matches(r) && live(r, at));
    if (rule) {
      rule.used += 1;
      rule.firstAt ??= at;
      events.push({ at, action, effect: rule.effect });
      if (rule.effect === 'hang') {
        hung.add(res);
        res.on('close', () => hung.delete(res));
        return;
      }
      res.writeHead(500, { 'content-type': 'application/x-amz-json-1.0' }).end(
        JSON.stringify({
          __type: 'com.amazonaws.dynamodb.v20120810#InternalServerError',
          message: 'injected',
        }),
      );
      return;
    }
    if (watched.some(matches)) events.push({ at, action, effect: 'passed' });
    forward(body);
  });
  return {
    endpoint: hop.endpoint,
    arm: (rule) => {
      rules.push({ ...rule, used: 0 });
      watched.push(rule);
    },
    clear: () => {
      rules = [];
      watched = [];
      for (const res of hung) res.destroy();
      hung.clear();
    },
    events: () => [...events],
    close: async () => {
      for (const res of hung) res.destroy();
      await hop.close();
    },
  };
};
