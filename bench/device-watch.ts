import type { DeviceStats } from '#local/simulator/device-connections.ts';
import type { Simulator } from '#local/simulator/index.ts';

/** What the simulator saw of a set of phones' devices while watched. */
export interface DeviceWatch {
  /** Seconds each phone had no logged-in connection, in the order given. */
  offlineSeconds(): number[];
  /** Replacements (a login while another connection of the device was open) since the watch began. */
  replacements(): number;
  /** Whether every phone has a logged-in connection now. */
  allOnline(): boolean;
  stop(): void;
}

/** The devices of each phone, from one reading of the simulator's stats (one per phone grew with N²). */
const byPhone = (sim: Simulator) => {
  const devices = new Map<string, DeviceStats[]>();
  for (const d of sim.stats().devices) {
    const phone = d.jid.split(/[:@]/)[0] as string;
    devices.set(phone, [...(devices.get(phone) ?? []), d]);
  }
  return devices;
};

/**
 * Watches the simulator (every `everyMs`) for the connections of each phone's linked devices: the
 * outside view of a session being online, whatever the runner or the API believe.
 */
export const watchDevices = (sim: Simulator, phones: string[], everyMs = 100): DeviceWatch => {
  const replacementsOf = () => {
    const devices = byPhone(sim);
    return phones.reduce((n, p) => n + (devices.get(p) ?? []).reduce((m, d) => m + d.replacements, 0), 0);
  };
  const online = () => {
    const devices = byPhone(sim);
    return phones.map((p) => (devices.get(p) ?? []).some((d) => d.connections > 0));
  };
  const before = replacementsOf();
  const offlineMs = phones.map(() => 0);
  let last = Date.now();
  let state = online();
  const timer = setInterval(() => {
    const now = Date.now();
    // A phone offline at the last look counts as offline for the whole interval since.
    state.forEach((up, i) => {
      if (!up) offlineMs[i] = (offlineMs[i] ?? 0) + (now - last);
    });
    last = now;
    state = online();
  }, everyMs);
  return {
    offlineSeconds: () => offlineMs.map((ms) => ms / 1000),
    replacements: () => replacementsOf() - before,
    allOnline: () => online().every(Boolean),
    stop: () => clearInterval(timer),
  };
};
