import { $, every, fill, h, say, time } from './dom.js';

// Sessions: link a chatbot (QR or pairing code), the list, and the selected session with its live
// QR and status. The status is polled every second while the session is linking, so the person
// never reloads; slower once it settled.

const STORAGE_KEY = 'wqg-console.sessions';
const LINKING = new Set(['CONNECTING', 'QR_READY']);

const remembered = () => {
  try {
    return JSON.parse(localStorage.getItem(STORAGE_KEY) ?? '[]');
  } catch {
    return [];
  }
};
const remember = (list) => localStorage.setItem(STORAGE_KEY, JSON.stringify(list));

const badge = (status) => h('span', { className: `badge ${status ?? ''}`, textContent: status ?? '…' });

/** Mounts the sessions column and the session card; returns what other panels need. */
export const mountSessions = (ctx) => {
  const listeners = [];
  const known = new Map(); // sessionId → last status view
  let selected; // { sessionId, chatbotId }
  let view; // the selected session's last view, with its chatbot
  let qr; // the raw QR string on screen (kept in memory only, for the virtual phone)
  let aiBusy = false;
  let ticks = 0;

  const notify = () => {
    for (const fn of listeners) fn(view);
  };

  const addKnown = (session) => {
    known.set(session.sessionId, { ...known.get(session.sessionId), ...session });
    if (!ctx.features.listSessions) {
      const list = remembered().filter((s) => s.sessionId !== session.sessionId);
      remember([{ sessionId: session.sessionId, chatbotId: session.chatbotId }, ...list]);
    }
    renderList();
  };
  const forget = (sessionId) => {
    known.delete(sessionId);
    remember(remembered().filter((s) => s.sessionId !== sessionId));
    if (selected?.sessionId === sessionId) select(undefined);
    renderList();
  };

  const renderList = () => {
    const items = [...known.values()].map((s) =>
      h(
        'li',
        {},
        h(
          'button',
          {
            type: 'button',
            className: `session-item${s.sessionId === selected?.sessionId ? ' selected' : ''}`,
            onclick: () => select(s),
            attrs: { 'aria-current': s.sessionId === selected?.sessionId ? 'true' : 'false' },
          },
          h('span', { className: 'name', textContent: s.chatbotId }),
          badge(s.status),
          h('span', { className: 'muted small', textContent: s.phoneNumber ? `+${s.phoneNumber}` : '' }),
        ),
      ),
    );
    fill($('session-list'), items);
    $('session-list-note').textContent = ctx.features.listSessions
      ? ''
      : 'Sessions this browser linked (the API has no session list yet).';
  };

  const select = (session) => {
    selected = session && { sessionId: session.sessionId, chatbotId: session.chatbotId };
    view = undefined;
    showQr(undefined);
    $('session-detail').hidden = !selected;
    $('no-session').hidden = !!selected;
    say($('detail-error'), '');
    renderList();
    notify();
    if (selected) void refreshSelected();
  };

  const showQr = (answer) => {
    const box = $('qr-box');
    if (!answer) {
      qr = undefined;
      box.hidden = true;
      $('qr-image').removeAttribute('src');
      return;
    }
    if (answer.qr !== qr) {
      qr = answer.qr;
      $('qr-image').src = answer.qrCode;
    }
    $('qr-expiry').textContent = answer.expiresAt ? `Valid until ${time(answer.expiresAt)}.` : '';
    box.hidden = false;
  };

  const renderDetail = () => {
    if (!view) return;
    $('detail-chatbot').textContent = view.chatbotId;
    const status = $('detail-status');
    status.className = `badge ${view.status}`;
    status.textContent = view.status;
    const facts = [
      ['Session', view.sessionId],
      ['Number', view.phoneNumber ? `+${view.phoneNumber}` : undefined],
      ['Last error', view.lastError],
      ['Connected at', view.connectedAt && new Date(view.connectedAt).toLocaleString()],
      ['Updated', time(view.updatedAt)],
      ['Next', view.status === 'CONNECTING' ? 'Waiting for the runner to offer a QR…' : undefined],
    ].filter(([, value]) => value);
    fill(
      $('detail-facts'),
      facts.flatMap(([term, value]) => [h('dt', { textContent: term }), h('dd', { textContent: value })]),
    );
    if (!aiBusy && view.chatbot) $('ai-toggle').checked = view.chatbot.aiEnabled;
    const showCode = view.pairingCode && view.status !== 'CONNECTED';
    $('pairing-box').hidden = !showCode;
    $('pairing-code').textContent = showCode ? view.pairingCode : '';
    $('disconnect').disabled = view.status === 'DISCONNECTED' || view.status === 'LOGGED_OUT';
    $('delete-session').hidden = !ctx.features.deleteSession;
  };

  const refreshSelected = async () => {
    if (!selected) return;
    const target = selected;
    let next;
    try {
      next = await ctx.api.sessionOf(target.chatbotId);
    } catch (error) {
      if (error.status === 404) return forget(target.sessionId);
      return say($('detail-error'), error.message, true);
    }
    if (selected !== target) return;
    if (next.sessionId !== target.sessionId) {
      // The chatbot got a new session (its old one was deleted): follow it.
      forget(target.sessionId);
      addKnown(next);
      return select(next);
    }
    view = next;
    addKnown(next);
    renderDetail();
    if (next.status === 'QR_READY') {
      try {
        showQr(await ctx.api.qr(target.sessionId));
      } catch (error) {
        if (error.code !== 'QR_NOT_READY') say($('detail-error'), error.message, true);
        showQr(undefined);
      }
    } else {
      showQr(undefined);
    }
    notify();
  };

  const refreshList = async () => {
    if (ctx.features.listSessions) {
      const page = await ctx.api.sessions();
      known.clear();
      for (const s of page.items) known.set(s.sessionId, s);
      renderList();
      return;
    }
    for (const s of remembered()) {
      if (s.sessionId === selected?.sessionId) continue; // refreshed every second already
      try {
        addKnown(await ctx.api.status(s.sessionId));
      } catch (error) {
        if (error.status === 404) forget(s.sessionId);
      }
    }
  };

  const act = (button, fn) => {
    button.addEventListener('click', async () => {
      if (!view) return;
      button.disabled = true;
      say($('detail-error'), '');
      try {
        await fn(view);
        await refreshSelected();
      } catch (error) {
        say($('detail-error'), `${error.code}: ${error.message}`, true);
      } finally {
        button.disabled = false;
        renderDetail();
      }
    });
  };
  act($('relink'), (v) => ctx.api.init(v.chatbotId));
  act($('disconnect'), (v) => ctx.api.disconnect(v.sessionId, false));
  act($('logout'), async (v) => {
    if (confirm(`Log out ${v.chatbotId}? The device is unlinked and a new scan is needed.`)) {
      await ctx.api.disconnect(v.sessionId, true);
    }
  });
  act($('delete-session'), async (v) => {
    if (confirm(`Delete the session of ${v.chatbotId}?`)) {
      await ctx.api.deleteSession(v.sessionId);
      forget(v.sessionId);
    }
  });

  $('ai-toggle').addEventListener('change', async (event) => {
    if (!view) return;
    const wanted = event.target.checked;
    aiBusy = true;
    try {
      const chatbot = await ctx.api.setAi(view.chatbotId, wanted);
      view.chatbot = chatbot;
    } catch (error) {
      event.target.checked = !wanted;
      say($('detail-error'), `${error.code}: ${error.message}`, true);
    } finally {
      aiBusy = false;
    }
  });

  const form = $('link-form');
  form.addEventListener('change', () => {
    $('pairing-phone-row').hidden = form.elements.method.value !== 'code';
    $('link-phone').required = form.elements.method.value === 'code';
  });
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    say($('link-error'), '');
    const byCode = form.elements.method.value === 'code';
    const button = form.querySelector('button[type=submit]');
    button.disabled = true;
    try {
      const session = await ctx.api.init(
        form.elements.chatbotId.value.trim(),
        byCode ? form.elements.phone.value.trim() : undefined,
      );
      addKnown(session);
      select(session);
    } catch (error) {
      say($('link-error'), `${error.code}: ${error.message}`, true);
    } finally {
      button.disabled = false;
    }
  });

  for (const s of remembered()) known.set(s.sessionId, { ...s, status: undefined });
  renderList();
  every(1000, async () => {
    ticks += 1;
    if (selected && (LINKING.has(view?.status) || !view || ticks % 3 === 0)) await refreshSelected();
    if (ticks % 5 === 1) await refreshList();
  });

  return {
    /** The selected session's last view (with its chatbot), or undefined. */
    current: () => view,
    /** The QR string on screen, for the virtual phone. */
    currentQr: () => qr,
    onChange: (fn) => listeners.push(fn),
    refresh: refreshSelected,
  };
};
