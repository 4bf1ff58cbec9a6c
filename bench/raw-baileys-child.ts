// The p1/p2 baseline, run as its own process by bench/raw-baileys.ts: plain Baileys sockets with
// `useMultiFileAuthState`, as a user of Baileys without this product writes them, linked to the
// bench's simulator. Commands arrive over IPC; nothing of the product but the simulator's trust
// root (installWhatsAppTrust, so the sockets accept the simulator) and the quiet logger is used.
import { join } from 'node:path';
import makeWASocket, { useMultiFileAuthState, type WASocket } from '@whiskeysockets/baileys';
import { fetchPairedCredentials } from '#local/simulator/index.ts';
import { silentBaileysLogger } from '#runner/baileys-logger.ts';
import { silenceLibsignal } from '#runner/silence-libsignal.ts';
import { installWhatsAppTrust } from '#runner/whatsapp-trust.ts';
import { pool, waitFor } from '../faults/drive.ts';

export type RawCommand =
  | { type: 'link'; phones: string[] }
  | { type: 'send'; sends: { from: number; to: string; text: string }[] }
  | { type: 'stop' };

const { BENCH_SIM_WS = '', BENCH_SIM_HTTP = '', BENCH_SIM_ROOT = '', BENCH_AUTH_DIR = '' } = process.env;
silenceLibsignal();
installWhatsAppTrust({ waWebSocketUrl: BENCH_SIM_WS, simulatorRootKeyHex: BENCH_SIM_ROOT });

const sockets: WASocket[] = [];

const link = async (phone: string): Promise<WASocket> => {
  const { state, saveCreds } = await useMultiFileAuthState(join(BENCH_AUTH_DIR, phone));
  Object.assign(state.creds, await fetchPairedCredentials(BENCH_SIM_HTTP, phone));
  await saveCreds();
  let open = false;
  const sock = makeWASocket({
    waWebSocketUrl: BENCH_SIM_WS,
    auth: state,
    logger: silentBaileysLogger,
    markOnlineOnConnect: false,
    syncFullHistory: false,
  });
  sock.ev.on('creds.update', saveCreds);
  sock.ev.on('connection.update', (u) => {
    if (u.connection === 'open') open = true;
  });
  await waitFor(`raw socket ${phone} open`, () => open, 180_000);
  return sock;
};

const reply = (message: object) => process.send?.(message);

process.on('message', async (command: RawCommand) => {
  try {
    if (command.type === 'link') {
      sockets.push(...(await pool(command.phones, 10, link)));
      reply({ type: 'linked', total: sockets.length });
    } else if (command.type === 'send') {
      await Promise.all(
        command.sends.map((s) =>
          (sockets[s.from] as WASocket).sendMessage(`${s.to}@s.whatsapp.net`, { text: s.text }),
        ),
      );
      reply({ type: 'sent' });
    } else {
      for (const sock of sockets) sock.end(undefined);
      process.exit(0);
    }
  } catch (error) {
    reply({ type: 'error', message: error instanceof Error ? error.message : String(error) });
  }
});
reply({ type: 'ready' });
