import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { waitFor } from '../faults/drive.ts';
import type { BenchContext } from './bench-context.ts';
import { rssAfterGc, rssMb } from './proc-usage.ts';

/**
 * The file m1 sends and receives: a 10 MiB video. A 15 MB one (just under WhatsApp's 16 MB
 * video cap) does not fit the bench's S3 stand-in, which refuses a PUT over 11 MiB (fauxqs'
 * request body limit; S3 takes 5 GB in one PUT): the tenant's upload and the runner's store of an
 * incoming file are single PUTs. The figure is a ratio of the size, so it compares across sizes.
 */
export const M1_FILE_BYTES = 10 * 1024 * 1024;

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** An MP4 to the runner: an `ftyp` box, then random bytes (nothing in the stack decodes it). */
const video = (): Buffer =>
  Buffer.concat([
    Buffer.from('0000001c66747970697336d00000000169736f6d', 'hex'),
    randomBytes(M1_FILE_BYTES - 20),
  ]);

/** The process's peak RSS (VmHWM) in MB. */
const peakMb = (pid: number): number =>
  Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) / 1024;

/**
 * The highest RSS of `pid` while `work` runs, in MB. The kernel's own high-water mark, reset to the
 * current RSS first (`/proc/<pid>/clear_refs` 5, Linux 4.0+), so no short peak falls between two
 * samples; sampled every 20 ms where the reset is not allowed. With `collect`, the process is made
 * to run full GCs meanwhile (`collect` runs one and resolves once it is done; the next starts
 * GC_EVERY_MS later), so the peak is what it keeps alive.
 */
const peakRssDuring = async (
  pid: number,
  work: () => Promise<void>,
  collect?: () => Promise<unknown>,
): Promise<number> => {
  let kernelPeak = true;
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
  } catch {
    kernelPeak = false;
  }
  let sampled = rssMb(pid);
  const sampler = setInterval(() => {
    sampled = Math.max(sampled, rssMb(pid));
  }, 20);
  let working = true;
  // One GC at a time: a signal sent every interval regardless piled GCs up under load and starved
  // the runner (under load 20 it lost its shard lease).
  const collector = (async () => {
    while (collect && working) {
      await new Promise((resolve) => setTimeout(resolve, GC_EVERY_MS));
      if (working) await collect();
    }
  })();
  try {
    await work();
  } finally {
    working = false;
    clearInterval(sampler);
    await collector;
  }
  return Math.max(sampled, kernelPeak ? peakMb(pid) : 0);
};

const round = (value: number, digits = 2) => Math.round(value * 10 ** digits) / 10 ** digits;

/**
 * The pause between full GCs in the "collected" passes (the hook runs three, 100 ms apart, per
 * signal; every 250 ms stalled the runner's sends).
 */
const GC_EVERY_MS = 1000;

/** Measured files each way after the warm-up; `sendRatio` and `receiveRatio` are the worst of them. */
const ROUNDS = 3;

/** One file through the runner: its RSS just before, its peak RSS above that (MB), how long it took. */
interface Transfer {
  idle: number;
  increase: number;
  ms: number;
}

/** Runs `work` and returns how long it took, in ms. */
const timed = async (work: () => Promise<void>): Promise<number> => {
  const start = Date.now();
  await work();
  return Date.now() - start;
};

/**
 * m1: does a file pass through the runner streamed, or held? The runner's peak RSS increase while
 * it sends a 10 MiB video (the tenant's upload, from S3 through Baileys' encryption to the
 * simulator's media host) and while it receives one (downloaded, decrypted and stored in S3), over
 * its own idle RSS just before, as a ratio of the file size.
 *
 * The first file each way (`firstSendRatio`, `firstReceiveRatio`) costs the runner 15-30 MB once:
 * the chunks of a stream live outside V8's heap and wait for a GC (V8 collects on heap pressure,
 * and their handles are tiny), so the allocator's pools grow by a few copies of what passed; later
 * files reuse them unless a GC gave them back meanwhile (then they grow again: the later figures
 * are noisy, 0 to 2 in quick runs). Then each way twice: as the runner runs (`sendRatio`,
 * `receiveRatio`, the figures with a target) and with full GCs every second (`…CollectedRatio`).
 * A file held whole but smaller than what the pools grew could hide in them: a 10 MiB file cannot
 * show a bound, only that files do not add up (larger files do not fit the bench's S3 stand-in;
 * by hand on `npm start`, a 57 MB PDF sent after a 15 MB video cost 5 MB more).
 *
 * The same measurement over a window with no file, as long as the longest transfer, from a full
 * GC as the warm-up file (`noFilePeakIncreaseMb`), is what the runner's RSS does on its own; near
 * 0 on a runner with only this session. It cannot catch every swing of a busy runner (its own GCs
 * come when they come), so `ctx.runner` must hold nothing else at work: main.ts gives m1 a runner
 * of its own. On the runner the other rows share, right after p3 restored 200 sessions, the RSS
 * was 240 to 263 MB before a file, from one file to the next (likely GCs of a heap with 200 sessions
 * giving pages back, the next allocations taking them again): a file that started in a trough measured the climb back (ratios up to 2.2), one that
 * started at the top measured 0; ten files never took it above 263 MB, so none was held.
 */
export const m1Media = async (ctx: BenchContext, progress: (line: string) => void) => {
  const [linked] = await ctx.sessions(1);
  if (!linked) throw new Error('no linked session');
  const { stack } = ctx.b;
  const pid = ctx.runner.process.child.pid as number;
  const fileMb = M1_FILE_BYTES / 1024 / 1024;

  // The first baseline is the runner's idle RSS after a full GC. Later ones are its RSS after a
  // quiet second: a forced GC would hand the pools the first file grew back to the system, and the
  // next file would grow them again, which a running runner does not do.
  const collect = () => rssAfterGc(pid, ctx.runner.gcEnv);
  const idleRss = async (first: boolean) => {
    if (first) return rssAfterGc(pid, ctx.runner.gcEnv);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    return rssMb(pid);
  };

  // Out: the tenant uploads a video, then sends it by mediaId; done when the contact has it.
  const send = async (first: boolean, collected = false): Promise<Transfer> => {
    const out = video();
    const upload = await stack.call('POST', '/media', { mimeType: 'video/mp4', size: out.length });
    if (upload.status !== 201) {
      throw new Error(`upload answered ${upload.status}: ${JSON.stringify(upload.body)}`);
    }
    const put = await fetch(upload.body.uploadUrl as string, {
      method: 'PUT',
      headers: { 'content-type': 'video/mp4' },
      body: out,
    });
    if (put.status !== 200) throw new Error(`the presigned PUT answered ${put.status}`);
    const idle = await idleRss(first);
    let ms = 0;
    const peak = await peakRssDuring(
      pid,
      async () => {
        ms = await timed(async () => {
          const sent = await stack.call('POST', '/send', {
            sessionId: linked.sessionId,
            to: linked.contact,
            media: { mediaId: upload.body.mediaId },
          });
          if (sent.status !== 202)
            throw new Error(`send answered ${sent.status}: ${JSON.stringify(sent.body)}`);
          const hash = sha256(out);
          await waitFor(
            'the contact to receive the video',
            () => stack.sim.inbox(linked.contact).some((m) => m.media?.sha256 === hash),
            120_000,
          ).catch(async (error: Error) => {
            const message = await stack.call('GET', `/messages/${sent.body.messageId}`);
            throw new Error(`${error.message} (the message: ${JSON.stringify(message.body)})`);
          });
        });
      },
      collected ? collect : undefined,
    );
    progress(
      `m1: send${collected ? ' (collected)' : ''}: idle ${idle.toFixed(0)} MB, peak ${peak.toFixed(0)} MB`,
    );
    return { idle, increase: peak - idle, ms };
  };

  // In: the contact sends a video; the runner downloads, decrypts and stores it, then publishes it.
  const receive = async (first: boolean, collected = false): Promise<Transfer> => {
    const incoming = video();
    const idle = await idleRss(first);
    let ms = 0;
    const peak = await peakRssDuring(
      pid,
      async () => {
        ms = await timed(async () => {
          await stack.sim.sendMedia(linked.contact, linked.phone, { bytes: incoming, mimeType: 'video/mp4' });
          await waitFor(
            'the runner to store the contact video',
            () => publishedIncoming(ctx, linked.sessionId, sha256(incoming)),
            120_000,
          );
        });
      },
      collected ? collect : undefined,
    );
    progress(
      `m1: receive${collected ? ' (collected)' : ''}: idle ${idle.toFixed(0)} MB, peak ${peak.toFixed(0)} MB`,
    );
    return { idle, increase: peak - idle, ms };
  };

  // No file: the window alone, from the first file's baseline (a full GC, after which a runner
  // busy with other work grows back at once).
  const noFile = async (ms: number): Promise<Transfer> => {
    const idle = await idleRss(true);
    const peak = await peakRssDuring(pid, () => new Promise((resolve) => setTimeout(resolve, ms)));
    progress(`m1: no file for ${ms} ms: idle ${idle.toFixed(0)} MB, peak ${peak.toFixed(0)} MB`);
    return { idle, increase: peak - idle, ms };
  };

  // A warm-up file each way first (reported apart: it grows the pools once, see above), then
  // three rounds of one file each way, as a running runner meets them; the GC'd pair comes last,
  // so that its forced collections (which hand the pools back) precede no measured file.
  const firstSent = await send(true);
  const firstReceived = await receive(false);
  const sends: Transfer[] = [];
  const receives: Transfer[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    sends.push(await send(false));
    receives.push(await receive(false));
  }
  const quiet = await noFile(Math.max(...[firstSent, firstReceived, ...sends, ...receives].map((t) => t.ms)));
  const sentCollected = await send(false, true);
  const receivedCollected = await receive(false, true);
  const ratio = (mb: number) => round(mb / fileMb);
  const worst = (transfers: Transfer[]) => Math.max(...transfers.map((t) => t.increase));
  return {
    fileMb: round(fileMb, 1),
    idleRssMb: round(firstSent.idle, 0),
    firstSendRatio: ratio(firstSent.increase),
    firstReceiveRatio: ratio(firstReceived.increase),
    sendRatios: sends.map((t) => ratio(t.increase)),
    receiveRatios: receives.map((t) => ratio(t.increase)),
    sendPeakIncreaseMb: round(worst(sends), 1),
    receivePeakIncreaseMb: round(worst(receives), 1),
    sendRatio: ratio(worst(sends)),
    receiveRatio: ratio(worst(receives)),
    noFilePeakIncreaseMb: round(quiet.increase, 1),
    noFileSeconds: round(quiet.ms / 1000, 1),
    sendCollectedPeakIncreaseMb: round(sentCollected.increase, 1),
    receiveCollectedPeakIncreaseMb: round(receivedCollected.increase, 1),
    sendCollectedRatio: ratio(sentCollected.increase),
    receiveCollectedRatio: ratio(receivedCollected.increase),
  };
};

/**
 * Whether the runner published the contact's file with this sha256 (so stored in S3 first) to
 * `incoming.fifo`. Read from the queue itself: no AI worker runs by then (p4 stops its own) to store
 * the message, and nothing else reads the queue.
 */
const publishedIncoming = async (ctx: BenchContext, sessionId: string, hash: string): Promise<boolean> => {
  const events = await ctx.b.stack.takeIncoming();
  return events.some((event) => {
    const media = event.media as { sha256?: string; error?: string } | undefined;
    return event.sessionId === sessionId && media?.sha256 === hash && !media.error;
  });
};
