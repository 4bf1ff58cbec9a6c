// The console's only door to the product: the public tenant API with the tenant's key, plus the
// simulator's control API through the local stack's same-origin proxy when it runs.

/** An answer of the API that is not 2xx, with its stable error code. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

const call = async (url, { method = 'GET', headers = {}, body } = {}) => {
  let res;
  try {
    res = await fetch(url, {
      method,
      headers: { ...(body !== undefined && { 'content-type': 'application/json' }), ...headers },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
  } catch {
    throw new ApiError(0, 'NETWORK', 'The API did not answer');
  }
  const text = await res.text();
  let json;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  if (!res.ok) {
    const error = json?.error ?? {};
    throw new ApiError(res.status, error.code ?? `HTTP_${res.status}`, error.message ?? res.statusText);
  }
  return json;
};

/** A client of the tenant API at `base` (e.g. `/whatsapp-qr`) with `key`. */
export const tenantApi = (base, key) => {
  const auth = { authorization: `Bearer ${key}` };
  const api = (path, init = {}) => call(`${base}${path}`, { ...init, headers: { ...auth, ...init.headers } });
  const id = encodeURIComponent;
  return {
    openapi: () => api('/openapi.json'),
    init: (chatbotId, pairingPhoneNumber) =>
      api('/init', {
        method: 'POST',
        body: { chatbotId, ...(pairingPhoneNumber && { pairingPhoneNumber }) },
      }),
    status: (sessionId) => api(`/status/${id(sessionId)}`),
    sessionOf: (chatbotId) => api(`/session/${id(chatbotId)}`),
    qr: (sessionId) => api(`/qr-code/${id(sessionId)}`),
    disconnect: (sessionId, logout) => api('/disconnect', { method: 'POST', body: { sessionId, logout } }),
    send: (sessionId, to, message) =>
      api('/send', {
        method: 'POST',
        body: { sessionId, to, message },
        headers: { 'idempotency-key': crypto.randomUUID() },
      }),
    message: (messageId) => api(`/messages/${id(messageId)}`),
    setAi: (chatbotId, aiEnabled) =>
      api(`/chatbots/${id(chatbotId)}`, { method: 'PUT', body: { aiEnabled } }),
    conversations: (sessionId) => api(`/conversations?sessionId=${id(sessionId)}`),
    messages: (conversationId) => api(`/conversations/${id(conversationId)}/messages?limit=100`),
    sessions: () => api('/sessions?limit=100'),
    deleteSession: (sessionId) => api(`/sessions/${id(sessionId)}`, { method: 'DELETE' }),
    webhooks: () => api('/webhooks'),
    addWebhook: (url) => api('/webhooks', { method: 'POST', body: { url } }),
    deleteWebhook: (webhookId) => api(`/webhooks/${id(webhookId)}`, { method: 'DELETE' }),
    testWebhook: (webhookId) => api(`/webhooks/${id(webhookId)}/test`, { method: 'POST' }),
    deliveries: (webhookId) => api(`/webhooks/${id(webhookId)}/deliveries`),
  };
};

/**
 * Which optional screens the API serves, read from its OpenAPI document: routes still being built
 * elsewhere appear in the console as soon as the API answers them.
 */
export const detectFeatures = (document, base) => {
  const paths = document?.paths ?? {};
  const has = (path, method) => Boolean(paths[`${base}${path}`]?.[method]);
  return {
    listSessions: has('/sessions', 'get'),
    deleteSession: has('/sessions/{sessionId}', 'delete'),
    webhooks: has('/webhooks', 'get') && has('/webhooks', 'post'),
    deleteWebhook: has('/webhooks/{webhookId}', 'delete'),
    testWebhook: has('/webhooks/{webhookId}/test', 'post'),
    deliveries: has('/webhooks/{webhookId}/deliveries', 'get'),
  };
};

/** The simulator's control API, through `/console/simulator/` of the local stack. */
export const simulatorApi = (base = 'simulator') => {
  const sim = (path, body) => call(`${base}/${path}`, body === undefined ? {} : { method: 'POST', body });
  return {
    scan: (phone, qr) => sim(`phones/${phone}/scan`, { qr }),
    typeCode: (phone, code) => sim(`phones/${phone}/pairing-code`, { code }),
    sendAsContact: (contact, to, text) => sim(`contacts/${contact}/send`, { to, text }),
    inbox: (contact) => sim(`contacts/${contact}/inbox`),
  };
};

/** Digits only, as the simulator numbers its phones and contacts. */
export const digits = (value) => String(value ?? '').replace(/\D/g, '');
