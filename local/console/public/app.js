import { detectFeatures, simulatorApi, tenantApi } from './api.js';
import { mountConversations } from './conversations.js';
import { $, say } from './dom.js';
import { mountSessions } from './sessions.js';
import { mountVirtualPhone } from './virtual-phone.js';
import { mountWebhooks } from './webhooks.js';

// The console's entry point: find the API and the key, learn which routes the API serves, mount
// the panels. Served by the local stack it gets the development key from `config.json` (loopback
// only); hosted elsewhere, `?api=<base URL of /whatsapp-qr>` and a key typed by the person.

const KEY_STORAGE = 'wqg-console.apiKey';

const loadConfig = async () => {
  try {
    const res = await fetch('config.json');
    return res.ok ? await res.json() : {};
  } catch {
    return {};
  }
};

const start = async () => {
  const state = $('api-state');
  const config = await loadConfig();
  const base = new URLSearchParams(location.search).get('api') ?? config.apiBase ?? '/whatsapp-qr';
  const key = localStorage.getItem(KEY_STORAGE) ?? config.apiKey ?? '';
  const keyInput = $('api-key');
  keyInput.value = key;
  $('key-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const typed = keyInput.value.trim();
    // The development key comes from the stack each time; only a key typed by the person is kept.
    if (typed && typed !== config.apiKey) localStorage.setItem(KEY_STORAGE, typed);
    else localStorage.removeItem(KEY_STORAGE);
    location.reload();
  });
  if (!key) return say(state, 'Enter an API key.', true);

  const api = tenantApi(base, key);
  let features;
  try {
    features = detectFeatures(await api.openapi(), base);
  } catch (error) {
    return say(
      state,
      `API ${base}: ${error.status === 401 ? 'the key is not accepted' : error.message}`,
      true,
    );
  }
  say(state, `API ${base} · ${config.simulator ? 'WhatsApp simulator' : 'WhatsApp'}`);
  document.body.dataset.ready = 'true';

  const ctx = { api, features, sim: config.simulator ? simulatorApi() : undefined };
  const sessions = mountSessions(ctx);
  mountConversations(ctx, sessions);
  if (ctx.sim) mountVirtualPhone(ctx, sessions);
  if (features.webhooks) mountWebhooks(ctx);
};

void start();
