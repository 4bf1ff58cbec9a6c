import type { DisconnectInput, InitSessionInput } from '../contracts/http.ts';
import type { Chatbot, Session } from '../domain/entities.ts';
import { newId, shardOf } from '../domain/ids.ts';
import type { SessionStatus } from '../domain/session-status.ts';
import { ConflictError, NotFoundError, RateLimitedError } from '../errors.ts';
import { defaultChatbot } from './chatbots.ts';
import { type GatewayDeps, loadOwnSession } from './deps.ts';
import { isRunnerUnavailable, withRunnerLiveness } from './session-liveness.ts';

export interface InitResult {
  session: Session;
  created: boolean;
}

/**
 * Links a chatbot to a WhatsApp session: creates the chatbot with defaults and the session on the
 * first call, and on later calls restarts the same session (409 ALREADY_CONNECTED when it is linked).
 * A failure to enqueue the start undoes a session created by this call, so nothing is left half-made.
 */
export const initSession = async (
  deps: GatewayDeps,
  tenantId: string,
  input: InitSessionInput,
): Promise<InitResult> => {
  const clock = deps.clock.now();
  const now = clock.toISOString();
  // Every init may start a socket and a QR on the runner: a tenant's burst must not starve the others.
  const rate = await deps.initRate.consume(tenantId, clock);
  if (!rate.allowed) throw new RateLimitedError(rate.retryAfterSeconds, 'Too many inits for this tenant');
  const existing = await deps.chatbots.get(tenantId, input.chatbotId);
  if (existing?.sessionId) return reinit(deps, tenantId, existing.sessionId, input);

  // A new session: counted before anything is written, so a refused init leaves nothing behind.
  const cap = await deps.sessionCap.consume(tenantId, clock);
  if (!cap.allowed) {
    throw new RateLimitedError(cap.retryAfterSeconds, 'This tenant has as many sessions as it may have');
  }
  let given = false; // at most once, whichever way the init ends
  const giveBack = async () => {
    if (given) return;
    given = true;
    await deps.sessionCap.release(tenantId, clock).catch(() => undefined);
  };
  try {
    const chatbot = await deps.chatbots.createIfMissing(defaultChatbot(tenantId, input.chatbotId, now));
    if (chatbot.sessionId) {
      // A concurrent init linked a session meanwhile: that one is counted already.
      await giveBack();
      return await reinit(deps, tenantId, chatbot.sessionId, input);
    }
    return await createSession(deps, tenantId, input, now, giveBack);
  } catch (error) {
    await giveBack();
    throw error;
  }
};

/** The first init of a chatbot: a new session, linked and started; `giveBack` frees its place in the cap. */
const createSession = async (
  deps: GatewayDeps,
  tenantId: string,
  input: InitSessionInput,
  now: string,
  giveBack: () => Promise<unknown>,
): Promise<InitResult> => {
  const sessionId = newId();
  const session: Session = {
    sessionId,
    tenantId,
    chatbotId: input.chatbotId,
    shard: shardOf(sessionId, deps.shardCount),
    status: 'DISCONNECTED',
    desiredState: 'running',
    ...(input.pairingPhoneNumber && { pairingPhoneNumber: input.pairingPhoneNumber.replace(/^\+/, '') }),
    createdAt: now,
    updatedAt: now,
  };
  await deps.sessions.create(session);
  if (!(await deps.chatbots.attachSession(tenantId, input.chatbotId, sessionId))) {
    // A concurrent init linked its own session first: answer with that one (it counted its own).
    await deps.sessions.delete(sessionId);
    await giveBack();
    const winner = await deps.chatbots.get(tenantId, input.chatbotId);
    return reinit(deps, tenantId, sessionOf(winner), input);
  }
  try {
    return { session: await start(deps, session), created: true };
  } catch (error) {
    await deps.chatbots.detachSession(tenantId, input.chatbotId, sessionId).catch(() => undefined);
    await deps.sessions.delete(sessionId).catch(() => undefined);
    throw error;
  }
};

const sessionOf = (chatbot: Chatbot | undefined): string => {
  if (!chatbot?.sessionId) throw new ConflictError('INIT_RACE', 'The chatbot changed meanwhile, retry');
  return chatbot.sessionId;
};

const reinit = async (
  deps: GatewayDeps,
  tenantId: string,
  sessionId: string,
  input: InitSessionInput,
): Promise<InitResult> => {
  let session = await withRunnerLiveness(deps, await loadOwnSession(deps, tenantId, sessionId));
  if (session.status === 'CONNECTED') {
    throw new ConflictError('ALREADY_CONNECTED', 'The session is connected already');
  }
  const idle = session.status === 'DISCONNECTED' || session.status === 'LOGGED_OUT';
  // A session whose runner is gone gets a start too: the next owner of the shard may otherwise
  // never hear of it (a start lost with a purged queue). A start of a held session changes nothing.
  const orphaned = isRunnerUnavailable(session);
  if (idle || orphaned || session.desiredState === 'stopped' || input.pairingPhoneNumber) {
    const now = deps.clock.now().toISOString();
    session = (await deps.sessions.setDesiredState(sessionId, 'running', now)) ?? session;
    // What start answers is the stored record: shown as the tenant would see it.
    session = await withRunnerLiveness(
      deps,
      await start(deps, { ...session, pairingPhoneNumber: input.pairingPhoneNumber?.replace(/^\+/, '') }),
    );
  }
  return { session, created: false };
};

/**
 * Shows an idle session as CONNECTING, then enqueues the start command (the runner takes it from
 * there). Only an idle session is moved: a status the runner wrote meanwhile is never overwritten.
 * A failed enqueue puts the idle status back.
 */
const start = async (deps: GatewayDeps, session: Session): Promise<Session> => {
  const idle: SessionStatus[] = ['DISCONNECTED', 'LOGGED_OUT'];
  const now = deps.clock.now().toISOString();
  const moved = await deps.sessions.transition(session.sessionId, { to: 'CONNECTING', from: idle, now });
  try {
    await deps.commands.publish(session.shard, {
      v: 1,
      type: 'start',
      sessionId: session.sessionId,
      commandId: newId(),
      ...(session.pairingPhoneNumber && { pairingPhoneNumber: session.pairingPhoneNumber }),
    });
  } catch (error) {
    if (moved && idle.includes(session.status)) {
      await deps.sessions
        .transition(session.sessionId, { to: session.status, from: ['CONNECTING'], now })
        .catch(() => undefined);
    }
    throw error;
  }
  return moved ?? (await deps.sessions.get(session.sessionId)) ?? session;
};

/**
 * Asks the runner to close the session's socket (and unlink the device when `logout`); answers the
 * session as it is now (with liveness): the status changes once the runner has closed it.
 */
export const disconnectSession = async (
  deps: GatewayDeps,
  tenantId: string,
  input: DisconnectInput,
): Promise<Session> => {
  const session = await loadOwnSession(deps, tenantId, input.sessionId);
  await deps.commands.publish(session.shard, {
    v: 1,
    type: 'stop',
    sessionId: session.sessionId,
    commandId: newId(),
    logout: input.logout ?? false,
  });
  const now = deps.clock.now().toISOString();
  const stored = (await deps.sessions.setDesiredState(session.sessionId, 'stopped', now)) ?? session;
  return withRunnerLiveness(deps, stored);
};

/** The session as the tenant should see it: held statuses only while a runner holds it. */
export const getSessionStatus = async (
  deps: GatewayDeps,
  tenantId: string,
  sessionId: string,
): Promise<Session> => withRunnerLiveness(deps, await loadOwnSession(deps, tenantId, sessionId));

/** The session of a chatbot, with the chatbot; 404 when either does not exist. */
export const getSessionByChatbot = async (
  deps: GatewayDeps,
  tenantId: string,
  chatbotId: string,
): Promise<{ session: Session; chatbot: Chatbot }> => {
  const chatbot = await deps.chatbots.get(tenantId, chatbotId);
  if (!chatbot) throw new NotFoundError('CHATBOT_NOT_FOUND', 'No such chatbot');
  if (!chatbot.sessionId) throw new NotFoundError('SESSION_NOT_FOUND', 'The chatbot has no session yet');
  return { session: await getSessionStatus(deps, tenantId, chatbot.sessionId), chatbot };
};

export interface QrCodeResult {
  session: Session;
  qr: string;
  expiresAt: string;
}

/** The QR the runner published for the session; 409 QR_NOT_READY unless one is waiting and fresh. */
export const getQrCode = async (
  deps: GatewayDeps,
  tenantId: string,
  sessionId: string,
): Promise<QrCodeResult> => {
  const session = await getSessionStatus(deps, tenantId, sessionId);
  if (session.status === 'CONNECTED') {
    throw new ConflictError('ALREADY_CONNECTED', 'The session is connected: there is nothing to scan');
  }
  const fresh =
    session.qrExpiresAt !== undefined && Date.parse(session.qrExpiresAt) > deps.clock.now().getTime();
  if (session.status !== 'QR_READY' || !session.qr || !session.qrExpiresAt || !fresh) {
    throw new ConflictError('QR_NOT_READY', 'No QR code is waiting for a scan yet, retry shortly');
  }
  return { session, qr: session.qr, expiresAt: session.qrExpiresAt };
};
