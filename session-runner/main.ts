import { loadConfig, RunnerEnv } from '#shared/config.ts';
import { createLogger } from '#shared/logger.ts';
import { startRunner } from './runner.ts';
import { silenceLibsignal } from './silence-libsignal.ts';
import { installWhatsAppTrust } from './whatsapp-trust.ts';

// The session runner's entry point (ECS task, or the local stack's child process).

silenceLibsignal();
const config = loadConfig(RunnerEnv);
const trustLogger = createLogger('session-runner');
installWhatsAppTrust({
  waWebSocketUrl: config.WHATSAPP_WS_URL,
  simulatorRootKeyHex: config.WHATSAPP_SIMULATOR_ROOT_KEY,
  onRefused: (e) => trustLogger.error('WhatsApp server refused', { code: e.code, reason: e.message }),
});
startRunner(config, { process }).catch((error) => {
  console.error(`session runner failed to start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
