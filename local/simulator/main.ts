// `npm run simulator`: the WhatsApp simulator as a process of its own, for the local stack and for
// tests that need it across processes. Prints one line when listening; stops on SIGINT/SIGTERM.
import { z } from 'zod';
import { start } from './index.ts';

const env = z
  .object({ SIMULATOR_PORT: z.coerce.number().int().min(0).max(65_535).default(3100) })
  .safeParse(process.env);
if (!env.success) {
  console.error(
    `simulator: invalid SIMULATOR_PORT (${env.error.issues.map((issue) => issue.message).join('; ')})`,
  );
  process.exit(1);
}

const simulator = await start({ port: env.data.SIMULATOR_PORT }).catch((error: unknown) => {
  console.error(`simulator: cannot listen on port ${env.data.SIMULATOR_PORT}: ${(error as Error).message}`);
  process.exit(1);
});
console.log(`simulator: ws=${simulator.url} rootKey=${simulator.rootPublicKeyHex}`);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await simulator.stop();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
