/** One part of the stack: resolves while it answers, throws (or times out) when it is down. */
export type HealthCheck = () => Promise<void>;

export interface HealthReport {
  ok: boolean;
  /** Every part, `ok` or why it is down. */
  parts: Record<string, string>;
  /** The parts that are down, by name. */
  down: string[];
}

/** Runs every check at once, each bounded by `timeoutMs`, and names the parts that failed. */
export const checkHealth = async (
  checks: Record<string, HealthCheck>,
  timeoutMs = 2000,
): Promise<HealthReport> => {
  const names = Object.keys(checks);
  const results = await Promise.all(
    names.map(async (name) => {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      });
      try {
        await Promise.race([(checks[name] as HealthCheck)(), timeout]);
        return 'ok';
      } catch (error) {
        return `down: ${error instanceof Error ? error.message || error.name : String(error)}`;
      } finally {
        clearTimeout(timer);
      }
    }),
  );
  const parts = Object.fromEntries(names.map((name, i) => [name, results[i] as string]));
  const down = names.filter((name) => parts[name] !== 'ok');
  return { ok: down.length === 0, parts, down };
};

/** A check that an HTTP endpoint answers 2xx. */
export const httpCheck =
  (url: string): HealthCheck =>
  async () => {
    const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
    await response.body?.cancel();
    if (!response.ok) throw new Error(`${url} answered ${response.status}`);
  };
