import { $, every, fill, h, say, time } from './dom.js';

// Webhooks and their deliveries: shown only when the API serves the webhook routes.

/** Mounts the webhooks panel. */
export const mountWebhooks = (ctx) => {
  $('webhooks').hidden = false;
  let shown; // the webhook whose deliveries are on screen

  const showDeliveries = async (webhook) => {
    shown = webhook;
    const page = await ctx.api.deliveries(webhook.webhookId);
    if (shown !== webhook) return;
    $('delivery-table').hidden = false;
    $('delivery-caption').textContent = `Deliveries to ${webhook.url}`;
    fill(
      $('delivery-rows'),
      page.items.map((d) =>
        h(
          'tr',
          {},
          h('td', { textContent: d.eventId }),
          h('td', { textContent: d.type }),
          h('td', {}, h('span', { className: `badge ${d.state}`, textContent: d.state })),
          h('td', { textContent: String(d.attempts) }),
          h('td', { textContent: d.lastError ?? (d.lastStatus ? String(d.lastStatus) : '') }),
          h('td', { textContent: time(d.updatedAt) }),
        ),
      ),
    );
  };

  const refresh = async () => {
    const page = await ctx.api.webhooks();
    const items = page.items ?? page;
    fill(
      $('webhook-list'),
      items.map((w) =>
        h(
          'li',
          { className: 'row' },
          h('span', { className: 'name', textContent: w.url }),
          h('span', { className: 'muted small', textContent: (w.events ?? []).join(', ') || 'all events' }),
          ctx.features.deliveries &&
            h('button', { type: 'button', textContent: 'Deliveries', onclick: () => showDeliveries(w) }),
          ctx.features.testWebhook &&
            h('button', {
              type: 'button',
              textContent: 'Send test event',
              onclick: () => ctx.api.testWebhook(w.webhookId).then(() => showDeliveries(w)),
            }),
          ctx.features.deleteWebhook &&
            h('button', {
              type: 'button',
              className: 'danger',
              textContent: 'Delete',
              onclick: async () => {
                if (!confirm(`Delete the webhook to ${w.url}?`)) return;
                await ctx.api.deleteWebhook(w.webhookId);
                if (shown?.webhookId === w.webhookId) $('delivery-table').hidden = true;
                await refresh();
              },
            }),
        ),
      ),
    );
    if (!items.length)
      fill($('webhook-list'), h('li', { className: 'muted small', textContent: 'No webhooks.' }));
  };

  $('webhook-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const url = $('webhook-url');
    try {
      const created = await ctx.api.addWebhook(url.value.trim());
      url.value = '';
      // The secret is shown once by the API: show it once here too, never stored.
      say($('webhook-secret'), `Signing secret (shown once, copy it now): ${created.secret}`);
      await refresh();
    } catch (error) {
      say($('webhook-secret'), `${error.code}: ${error.message}`, true);
    }
  });

  every(5000, async () => {
    await refresh();
    if (shown) await showDeliveries(shown);
  });
};
