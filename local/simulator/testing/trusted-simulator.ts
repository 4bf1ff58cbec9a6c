import { installWhatsAppTrust } from '#runner/whatsapp-trust.ts';
import { type Simulator, type StartOptions, start } from '../index.ts';
import { BaileysTestClient } from './baileys-client.ts';

/**
 * Starts a simulator and makes this process's Baileys trust its root the way the product does
 * (real signature checks included), so every test proves the simulator signs correctly.
 */
export async function startTrustedSimulator(options: StartOptions = {}): Promise<Simulator> {
  const simulator = await start(options);
  installWhatsAppTrust({ waWebSocketUrl: simulator.url, simulatorRootKeyHex: simulator.rootPublicKeyHex });
  return simulator;
}

/** A Baileys client logged in as a new device of `phone` (pre-paired: no QR, no 515). */
export async function connectPairedClient(simulator: Simulator, phone: string): Promise<BaileysTestClient> {
  const client = new BaileysTestClient(simulator.url, simulator.createPairedCredentials(phone));
  await client.opened();
  return client;
}

let nextNumber = 0;

/** A phone number no other test of this process uses. */
export function uniqueNumber(prefix = '1555'): string {
  nextNumber += 1;
  return `${prefix}${String(process.pid % 1000).padStart(3, '0')}${String(nextNumber).padStart(4, '0')}`;
}
