// Preloaded (`node --import`) into the local stack's child processes: a child whose parent dies,
// even by kill -9, sees its stdin pipe close and ends itself, so no process of the stack outlives it.
// SIGTERM first (the process drains as on a normal stop), then a hard exit if that takes too long.

const HARD_EXIT_MS = 5000;

if (process.env.EXIT_WITH_PARENT === 'stdin') {
  const end = () => {
    process.kill(process.pid, 'SIGTERM');
    setTimeout(() => process.exit(1), HARD_EXIT_MS).unref();
  };
  process.stdin.once('end', end);
  process.stdin.once('error', end);
  process.stdin.resume();
  // The pipe only watches the parent; it must not keep the process alive by itself.
  (process.stdin as unknown as { unref?: () => void }).unref?.();
}
