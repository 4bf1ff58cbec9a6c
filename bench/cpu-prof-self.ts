import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';

/**
 * A CPU profile of this (the bench) process over a window: `start()` begins sampling, the returned
 * `stop(file)` writes the profile (a .cpuprofile for DevTools or bench/cpu-prof-top.ts). The bench
 * process hosts the simulator, the tenant API, the S3 stand-in and the counting hops, so this shows
 * what they spend while a runner is measured.
 */
export const startSelfProfile = async (): Promise<{ stop(file: string): Promise<void> }> => {
  const session = new Session();
  session.connect();
  const post = <T = unknown>(method: string, params?: object) =>
    new Promise<T>((resolve, reject) =>
      session.post(method, params, (error, result) => (error ? reject(error) : resolve(result as T))),
    );
  await post('Profiler.enable');
  await post('Profiler.setSamplingInterval', { interval: 500 });
  await post('Profiler.start');
  return {
    stop: async (file) => {
      try {
        const { profile } = await post<{ profile: unknown }>('Profiler.stop');
        writeFileSync(file, JSON.stringify(profile));
      } finally {
        session.disconnect();
      }
    },
  };
};
