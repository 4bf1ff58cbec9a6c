import { type Linked, linkSessions, sendAccepted, unsentAfterSettling, waitFor } from '../drive.ts';
import type { FaultStack } from '../fault-stack.ts';
import { type RowResult, row } from '../row.ts';
import { currentRunner } from './r1-kill-runner.ts';

export interface R3Size {
  sessions: number;
  /** Messages in the burst, spread evenly over the sessions. */
  messages: number;
}

/** Visibility the clamped SQS gives every received command: far below how long a burst takes. */
const SHORT_VISIBILITY_SECONDS = 1;

/**
 * r3: SQS hands out whole FIFO groups per receive and their visibility runs out after 1 s while
 * the runner works through a burst (pacing off): every message reaches its contact once, and each
 * session's messages arrive in the order the API accepted them. To make the runner hold commands
 * longer than their visibility, as in production when a send waits for a reconnect, the burst is
 * accepted while receives fail, then released while WhatsApp is unreachable, until the queue has
 * handed out held commands again.
 */
export const r3FifoGroups = async (
  stack: FaultStack,
  size: R3Size,
  progress: (line: string) => void,
): Promise<RowResult> =>
  row('r3', 'whole FIFO groups with short visibility during a burst', async (check, measured) => {
    await currentRunner(stack);
    const linked = await linkSessions(stack, 'r3', size.sessions, 4915310000000);
    progress(`r3: ${linked.length} sessions linked`);
    const perSession = Math.ceil(size.messages / linked.length);
    const before = stack.sqs.stats();
    stack.clamp.clamp(SHORT_VISIBILITY_SECONDS);
    const sent = new Map<Linked, { text: string; messageId: string }[]>();
    const releaseReceives = stack.sqs.outage(['ReceiveMessage']);
    try {
      // A receive already long-polling (up to COMMAND_WAIT_SECONDS, 1 s) would still get the burst:
      // the burst waits until the receives open at the outage's start have ended (seen at the clamp,
      // which every SQS call of the runner passes); every later receive meets the outage.
      await stack.clamp.settled('ReceiveMessage');
      // Each session's sends one after another (that is the order to keep), the sessions at once.
      await Promise.all(
        linked.map(async (l, s) => {
          const list: { text: string; messageId: string }[] = [];
          sent.set(l, list);
          for (let i = 0; i < perSession; i++) {
            const text = `r3 ${s}.${String(i).padStart(3, '0')}`;
            list.push({ text, messageId: await sendAccepted(stack, l, text) });
          }
        }),
      );
      progress(`r3: ${perSession * linked.length} sends accepted, held in the queue`);
      // Receives work again while WhatsApp is unreachable (its proxy cut): the commands handed out
      // wait for a reconnect, held past their 1 s visibility, until the queue has handed some of
      // them out again; only then does WhatsApp come back. So redeliveries happen however fast the
      // machine is (a burst that merely raced a few 408s often ended before any visibility ran out).
      stack.proxies.whatsapp.cut();
      try {
        releaseReceives();
        await waitFor(
          'a command handed out again while held',
          () => stack.sqs.stats().redelivered > before.redelivered,
          30_000,
        ).catch((error) => check(false, (error as Error).message));
      } finally {
        stack.proxies.whatsapp.restore();
      }
      progress(`r3: commands redelivered while held; WhatsApp reachable again`);
      await waitFor(
        'every burst message at its contact',
        () =>
          linked.every((l) =>
            (sent.get(l) ?? []).every((m) => stack.sim.inbox(l.contact).some((e) => e.text === m.text)),
          ),
        120_000,
      ).catch((error) => check(false, (error as Error).message));
    } finally {
      releaseReceives();
      stack.clamp.clamp(undefined);
    }
    let duplicates = 0;
    let resends = 0;
    let outOfOrder = 0;
    for (const l of linked) {
      const expected = (sent.get(l) ?? []).map((m) => m.text);
      const inbox = stack.sim.inbox(l.contact).filter((e) => expected.includes(e.text));
      const texts = inbox.map((e) => e.text);
      duplicates += texts.length - new Set(texts).size;
      resends += inbox.reduce((n, e) => n + e.repeats, 0);
      const arrived = texts.filter((t, i) => texts.indexOf(t) === i);
      const inOrder = expected.filter((t) => arrived.includes(t));
      if (arrived.join('\n') !== inOrder.join('\n')) {
        outOfOrder += 1;
        check(false, `session ${l.sessionId.slice(0, 8)} out of order: ${arrived.join(', ')}`);
      }
    }
    const notSentStatuses = await unsentAfterSettling(
      stack,
      [...sent.values()].flat().map((m) => m.messageId),
    );
    const notSent = notSentStatuses.length;
    Object.assign(measured, {
      sessions: linked.length,
      messages: perSession * linked.length,
      visibilitySeconds: SHORT_VISIBILITY_SECONDS,
      received: stack.sqs.stats().received - before.received,
      redelivered: stack.sqs.stats().redelivered - before.redelivered,
      duplicates,
      sameIdResends: resends,
      outOfOrderSessions: outOfOrder,
      notSent,
    });
    check(
      (measured.redelivered as number) > 0,
      'no command came back while held: the scenario did not exercise short visibility',
    );
    check(duplicates === 0, `${duplicates} message(s) shown twice at a contact`);
    check(
      notSent === 0,
      `${notSent} message(s) not SENT/DELIVERED/READ in storage: ${notSentStatuses.join(', ')}`,
    );
  });
