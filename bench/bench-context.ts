import type { Linked } from '../faults/drive.ts';
import type { BenchRunner, BenchStack } from './bench-stack.ts';
import { linkMany } from './bench-stack.ts';
import { type RawBaileys, startRawBaileys } from './raw-baileys.ts';

// Phones of the runner's sessions and of the raw-Baileys sockets; contacts are phone + 500 000.
const RUNNER_BASE = 4915200000000;
const RAW_BASE = 4915700000000;

/**
 * What the stack-based rows share, in the order they run (p2, p6, p1, p3): the runner serving now,
 * the sessions linked to it so far, and the raw-Baileys baseline process.
 */
export class BenchContext {
  readonly linked: Linked[] = [];
  readonly rawPhones: string[] = [];
  private raw?: RawBaileys;

  constructor(
    readonly b: BenchStack,
    public runner: BenchRunner,
  ) {}

  /** Links more sessions to the runner until `count` are linked; returns the first `count`. */
  async sessions(count: number): Promise<Linked[]> {
    const more = count - this.linked.length;
    if (more > 0)
      this.linked.push(...(await linkMany(this.b.stack, 'bench', this.linked.length, more, RUNNER_BASE)));
    return this.linked.slice(0, count);
  }

  /** The raw-Baileys process with at least `count` linked sockets. */
  async rawBaileys(count: number): Promise<RawBaileys> {
    this.raw ??= await startRawBaileys(this.b.stack.sim);
    const more = Array.from({ length: count - this.rawPhones.length }, (_, i) =>
      String(RAW_BASE + this.rawPhones.length + i),
    );
    if (more.length > 0) {
      await this.raw.link(more);
      this.rawPhones.push(...more);
    }
    return this.raw;
  }

  /** The contact the raw socket of `phone` writes to. */
  rawContact(phone: string): string {
    return String(Number(phone) + 500_000);
  }

  async close(): Promise<void> {
    await this.raw?.stop();
  }
}
