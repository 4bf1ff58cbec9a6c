import { relative } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * The integration files that take longest, longest first (seconds in the clean-clone CI run of
 * 2026-12-03, before the e2e stacks stopped in 1.5 s instead of 20 s). Only the order is used.
 */
export const SLOW_FILES: readonly string[] = [
  'faults/faults.test.ts', // 97
  'session-runner/runner-process.test.ts', // 49
  'local/console/console.browser.test.ts', // 46
  'local/e2e.test.ts', // 38
  'local/stack.test.ts', // 36
  'functions/http/request-fuzz.test.ts', // 35
  'local/media-send.e2e.test.ts', // 33
  'local/webhooks.e2e.test.ts', // 30
  'local/media.e2e.test.ts', // 29
  'session-runner/disconnects.test.ts', // 28
  'infra/bundling.test.ts', // 22
  'session-runner/command-consumer.test.ts', // 17
  'session-runner/silent-socket.test.ts', // 14
  'local/tenant-cli.test.ts', // 10
];

/**
 * Vitest's own order runs the files of the last run's durations longest first, but a clean clone
 * (CI) has no such cache and then runs the largest files first: `faults.test.ts`, the longest (97 s)
 * but a small file, started among the last and ran on alone while the other lane was idle. This
 * order starts the known slow files first, longest first, so the lanes finish together; the other
 * files follow in vitest's order (the cache's durations, else size). Projects keep their order.
 */
export class LongestFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const rank = new Map(SLOW_FILES.map((file, index) => [file, index]));
    const rankOf = (spec: TestSpecification) =>
      rank.get(relative(this.ctx.config.root, spec.moduleId).replaceAll('\\', '/')) ?? SLOW_FILES.length;
    const position = new Map(sorted.map((spec, index) => [spec, index]));
    return [...sorted].sort((a, b) => {
      const group = a.project.config.sequence.groupOrder - b.project.config.sequence.groupOrder;
      if (group !== 0) return group;
      if (a.project.name !== b.project.name) return (position.get(a) ?? 0) - (position.get(b) ?? 0);
      return rankOf(a) - rankOf(b) || (position.get(a) ?? 0) - (position.get(b) ?? 0);
    });
  }
}
