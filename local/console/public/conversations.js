import { $, every, fill, h, say, time } from './dom.js';

// Sending a message and reading conversations of the selected session, refreshed every 2 s.

const FINAL = new Set(['DELIVERED', 'READ', 'FAILED']);
/** `4915…@s.whatsapp.net` → `+4915…`; other peers (groups, LIDs) as they are. */
const number = (peer) => (/^\d+@s\.whatsapp\.net$/.test(peer) ? `+${peer.split('@')[0]}` : peer);

/** Mounts the send form and the conversations panel. */
export const mountConversations = (ctx, sessions) => {
  let openId; // the conversation on screen
  let sessionId;

  const renderConversations = (items) => {
    fill(
      $('conversation-list'),
      items.map((c) =>
        h(
          'li',
          {},
          h(
            'button',
            {
              type: 'button',
              className: `conversation-item${c.conversationId === openId ? ' selected' : ''}`,
              onclick: () => {
                openId = c.conversationId;
                renderConversations(items);
                void refreshMessages();
              },
              attrs: { 'aria-current': c.conversationId === openId ? 'true' : 'false' },
            },
            h('span', { className: 'name', textContent: c.peerName ?? number(c.peer) }),
            h('span', {
              className: 'muted small',
              textContent: `${c.messageCount} · ${time(c.lastMessageAt)}`,
            }),
            c.peerName && h('span', { className: 'muted small peer', textContent: number(c.peer) }),
            h('span', { className: 'preview small', textContent: c.lastMessageText ?? '' }),
          ),
        ),
      ),
    );
    if (!items.length)
      fill($('conversation-list'), h('li', { className: 'muted small', textContent: 'None yet.' }));
  };

  const refreshConversations = async () => {
    if (!sessionId) return;
    const page = await ctx.api.conversations(sessionId);
    openId ??= page.items[0]?.conversationId; // the latest one opens by itself
    renderConversations(page.items);
  };

  const refreshMessages = async () => {
    if (!openId) return;
    const target = openId;
    const page = await ctx.api.messages(target);
    if (target !== openId) return;
    $('conversation-peer').textContent = `Conversation ${target}`;
    fill(
      $('message-list'),
      page.items.map((m) =>
        h(
          'li',
          { className: `message ${m.direction}` },
          h('span', { className: 'text', textContent: m.text }),
          h('span', {
            className: 'meta',
            textContent: `${m.direction === 'in' ? 'received' : m.status.toLowerCase()} · ${time(m.createdAt)}`,
          }),
        ),
      ),
    );
  };

  sessions.onChange((view) => {
    if (view?.sessionId === sessionId) return;
    sessionId = view?.sessionId;
    openId = undefined;
    say($('send-result'), '');
    fill($('conversation-list'));
    fill($('message-list'));
    $('conversation-peer').textContent = 'Pick a conversation.';
    void refreshConversations();
  });

  const form = $('send-form');
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const view = sessions.current();
    if (!view) return;
    const result = $('send-result');
    const button = form.querySelector('button[type=submit]');
    button.disabled = true;
    let sent;
    try {
      sent = await ctx.api.send(view.sessionId, form.elements.to.value.trim(), form.elements.message.value);
      form.elements.message.value = '';
      say(result, `Message ${sent.messageId}: ${sent.status}`);
    } catch (error) {
      say(result, `${error.code}: ${error.message}`, true);
    } finally {
      button.disabled = false;
    }
    if (sent) await follow(result, sent.messageId);
  });

  // Follows a sent message to a final status, without the person asking.
  const follow = async (result, messageId) => {
    for (let i = 0; i < 50; i += 1) {
      await new Promise((r) => setTimeout(r, i < 10 ? 1000 : 3000)); // about 2 minutes in all
      const m = await ctx.api.message(messageId).catch(() => undefined);
      if (!m) continue;
      if (!result.textContent.startsWith(`Message ${messageId}`)) return; // a newer send took the line
      say(
        result,
        `Message ${m.messageId}: ${m.status}${m.error ? ` (${m.error})` : ''}`,
        m.status === 'FAILED',
      );
      if (FINAL.has(m.status)) return;
    }
  };

  every(2000, async () => {
    await refreshConversations();
    await refreshMessages();
  });
};
