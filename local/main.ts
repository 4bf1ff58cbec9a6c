import { z } from 'zod';
import { loadConfig } from '#shared/config.ts';
import { startStack } from './stack.ts';

// `npm start`: the whole system on loopback. Prints the development key and one `ready:` line,
// and stops everything on SIGINT / SIGTERM.

const LocalEnv = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  DATA_DIR: z.string().min(1).default('.data'),
  DEV_API_KEY: z.string().min(16).optional(),
  SHARD_COUNT: z.coerce.number().int().min(1).max(64).default(1),
  WHATSAPP: z.enum(['real', 'simulator']).default('real'),
  SIMULATOR_PORT: z.coerce.number().int().min(0).max(65535).default(3100),
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
  console.error(`local stack failed to start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
