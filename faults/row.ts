import type { FaultStack } from './fault-stack.ts';

/** One row of the fault table: what was measured and every way it broke what must hold. */
export interface RowResult {
  key: string;
  scenario: string;
  ok: boolean;
  measured: Record<string, number | string>;
  failures: string[];
  durationMs: number;
}

/** A scenario: runs on the shared stack with its own sessions, reports progress lines. */
export type Scenario<Size> = (
  stack: FaultStack,
  size: Size,
  progress: (line: string) => void,
) => Promise<RowResult>;

/** Collects failures and builds the row; a thrown error (a timeout) is a failure too. */
export const row = async (
  key: string,
  scenario: string,
  run: (
    check: (ok: boolean, failure: string) => void,
    measured: Record<string, number | string>,
  ) => Promise<void>,
): Promise<RowResult> => {
  const started = Date.now();
  const failures: string[] = [];
  const measured: Record<string, number | string> = {};
  try {
    await run((ok, failure) => {
      if (!ok) failures.push(failure);
    }, measured);
  } catch (error) {
    failures.push(`aborted: ${error instanceof Error ? error.message : String(error)}`);
  }
  return { key, scenario, ok: failures.length === 0, measured, failures, durationMs: Date.now() - started };
};
