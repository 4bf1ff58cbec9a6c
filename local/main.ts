import { z } from 'zod';
import { loadConfig } from '#shared/config.ts';
import { startStack } from './stack.ts';
import { AlreadyRunningError } from './stack-files.ts';

// `npm start`: the whole system on loopback. Prints the development key and one `ready:` line,
// then one line per session event, and stops everything on SIGINT / SIGTERM (every child process
// too; they also end by themselves when this process is killed).

const LocalEnv = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  DATA_DIR: z.string().min(1).default('.data'),
  DEV_API_KEY: z.string().min(16).optional(),
  SHARD_COUNT: z.coerce.number().int().min(1).max(64).default(1),
  WHATSAPP: z.enum(['real', 'simulator']).default('real'),
  SIMULATOR_PORT: z.coerce.number().int().min(0).max(65535).default(3100),
  /** First retry delay of a failed webhook delivery (30 s, as in AWS, unless set). */
  WEBHOOK_FIRST_RETRY_SECONDS: z.coerce.number().int().positive().optional(),
});

const main = async () => {
  const config = loadConfig(LocalEnv);
  const stack = await startStack({
    port: config.PORT,
    dataDir: config.DATA_DIR,
    devApiKey: config.DEV_API_KEY,
    shardCount: config.SHARD_COUNT,
    whatsapp: config.WHATSAPP,
    simulatorPort: config.SIMULATOR_PORT,
    webhookFirstRetrySeconds: config.WEBHOOK_FIRST_RETRY_SECONDS,
  });
  if (!config.DEV_API_KEY) {
    console.log(`development API key${stack.devKeyIsNew ? ' (new)' : ''}: ${stack.devApiKey}`);
  }
  const whatsapp = stack.simulator ? `simulator=${stack.simulator.httpUrl}` : 'whatsapp=real';
  console.log(`ready: api=${stack.api.url} ${whatsapp} data=${config.DATA_DIR}`);

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: stopping`);
    await stack.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
};

main().catch((error) => {
  if (error instanceof AlreadyRunningError) {
    console.error(`${error.message} on DATA_DIR ${process.env.DATA_DIR ?? '.data'}: stop it first`);
  } else {
    console.error(`local stack failed to start: ${error instanceof Error ? error.message : String(error)}`);
  }
  process.exit(1);
});
