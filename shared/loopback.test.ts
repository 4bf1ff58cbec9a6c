import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, RunnerEnv } from './config.ts';
import { isLoopbackHost, whatsAppUrlProblem } from './loopback.ts';

const runnerEnv = (wsUrl?: string) => ({
  SESSIONS_TABLE: 'sessions',
  MESSAGES_TABLE: 'messages',
  LEASES_TABLE: 'leases',
  AUTH_STATE_BUCKET: 'auth',
  COMMAND_QUEUE_URLS: 'http://127.0.0.1:1/commands-0.fifo',
  INCOMING_QUEUE_URL: 'http://127.0.0.1:1/incoming.fifo',
  ...(wsUrl !== undefined && { WHATSAPP_WS_URL: wsUrl }),
});

describe('the WhatsApp WebSocket URL', () => {
  it('accepts wss:// anywhere and plain ws:// on loopback only', () => {
    for (const url of [
      'wss://web.whatsapp.com/ws/chat',
      'wss://10.0.0.1/ws/chat',
      'ws://127.0.0.1:3100/ws/chat',
      'ws://localhost:1/',
      'ws://[::1]:2/ws/chat',
    ]) {
      expect(whatsAppUrlProblem(url), url).toBeUndefined();
    }
    expect(whatsAppUrlProblem('ws://web.whatsapp.com/ws/chat')).toMatch(/must use wss:\/\//);
    expect(whatsAppUrlProblem('ws://127.0.0.1.nip.io/')).toMatch(/must use wss:\/\//);
    expect(whatsAppUrlProblem('https://web.whatsapp.com/ws/chat')).toMatch(/must be a wss:\/\/ URL/);
    expect(whatsAppUrlProblem('not a url')).toBe('must be a URL');
  });

  it('is checked when the runner loads its configuration, naming the key', () => {
    expect(loadConfig(RunnerEnv, runnerEnv()).WHATSAPP_WS_URL).toBe('wss://web.whatsapp.com/ws/chat');
    expect(loadConfig(RunnerEnv, runnerEnv('ws://127.0.0.1:3100/ws/chat')).WHATSAPP_WS_URL).toBe(
      'ws://127.0.0.1:3100/ws/chat',
    );
    const load = () => loadConfig(RunnerEnv, runnerEnv('ws://web.whatsapp.com/ws/chat'));
    expect(load).toThrow(ConfigError);
    expect(load).toThrow(/WHATSAPP_WS_URL: must use wss:\/\/ for a server that is not on loopback/);
  });

  it('knows loopback hosts from look-alikes', () => {
    expect(['127.0.0.1', '127.8.9.10', 'LOCALHOST', '[::1]'].map(isLoopbackHost)).toEqual([
      true,
      true,
      true,
      true,
    ]);
    expect(
      ['128.0.0.1', 'localhost.example', '[::2]', '0.0.0.0', '127.0.0.1.nip.io'].map(isLoopbackHost),
    ).toEqual([false, false, false, false, false]);
  });
});
