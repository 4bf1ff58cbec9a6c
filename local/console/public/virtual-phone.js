import { digits } from './api.js';
import { $, every, fill, h, say } from './dom.js';

// With the simulator only: a virtual phone that scans the QR on screen (or types the pairing code)
// in one click, and a virtual contact that writes to the linked number and shows what it received.

/** Mounts the simulator panels (shown only when the local stack runs the simulator). */
export const mountVirtualPhone = (ctx, sessions) => {
  $('virtual-phone').hidden = false;
  $('contacts').hidden = false;
  const result = $('vphone-result');

  const render = (view) => {
    $('vphone-scan').disabled = view?.status !== 'QR_READY' || !sessions.currentQr();
    $('vphone-code').disabled = !view?.pairingCode || view.status === 'CONNECTED';
  };
  let sessionId;
  sessions.onChange((view) => {
    // The note is about what the phone did for this session, until the session connected.
    const linked = view?.status === 'CONNECTED' && result.textContent.startsWith('Linked');
    if (view?.sessionId !== sessionId || linked) say(result, '');
    sessionId = view?.sessionId;
    render(view);
  });
  // Linking by code: the virtual phone is the number the code was asked for.
  $('link-form').addEventListener('submit', (event) => {
    const form = event.currentTarget;
    if (form.elements.method.value === 'code') $('vphone-number').value = digits(form.elements.phone.value);
  });

  const act = (button, fn) =>
    button.addEventListener('click', async () => {
      button.disabled = true;
      say(result, 'The virtual phone is linking…');
      try {
        await fn(digits($('vphone-number').value));
        say(result, 'Linked: the session connects in a moment.');
        await sessions.refresh();
      } catch (error) {
        say(result, `${error.code}: ${error.message}`, true);
      } finally {
        render(sessions.current());
      }
    });
  act($('vphone-scan'), (phone) => ctx.sim.scan(phone, sessions.currentQr()));
  act($('vphone-code'), (phone) => ctx.sim.typeCode(phone, sessions.current()?.pairingCode));

  $('contact-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const to = digits(sessions.current()?.phoneNumber);
    const text = $('contact-text');
    if (!to) return say(result, 'The session has no linked number yet.', true);
    try {
      await ctx.sim.sendAsContact(digits($('contact-number').value), to, text.value);
      text.value = '';
    } catch (error) {
      say(result, `${error.code}: ${error.message}`, true);
    }
  });

  const refreshInbox = async () => {
    const contact = digits($('contact-number').value);
    if (!contact || !sessions.current()) return;
    const inbox = await ctx.sim.inbox(contact);
    if (digits($('contact-number').value) !== contact) return; // another number was typed meanwhile
    fill(
      $('contact-inbox'),
      inbox.map((m) =>
        h(
          'li',
          { className: 'message in' },
          h('span', { className: 'text', textContent: m.text ?? `[${m.media?.mimeType ?? 'media'}]` }),
          h('span', {
            className: 'meta',
            textContent: `from +${m.from} · ${new Date(m.timestamp * 1000).toLocaleTimeString()}`,
          }),
        ),
      ),
    );
    if (!inbox.length) fill($('contact-inbox'), h('li', { className: 'muted', textContent: 'Nothing yet.' }));
  };

  // Another contact's inbox is never shown under this number: cleared at once, then fetched.
  $('contact-number').addEventListener('input', () => {
    fill($('contact-inbox'));
    void refreshInbox().catch(() => undefined);
  });
  every(2000, refreshInbox);
};
