import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type E2eStack, startE2eStack } from '../testing/e2e-stack.ts';

// The console as a person uses it: `npm start` with the simulator, the page in Debian's headless
// Chromium (driven by playwright-core, which downloads no browser), screenshots of the main screens.

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium)
  console.warn(`console browser test skipped: ${CHROMIUM} is missing (apt-get install chromium)`);

const SCREENSHOTS = join(import.meta.dirname, '..', '..', '.console-screenshots');
const PHONE = '4915100000001'; // the virtual phone's number prefilled in the page
const CONTACT = '4915177700042';
const CODE_PHONE = '4915100000002';
const HOOK_CONTACT = '4915177700043';
const userDataDir = mkdtempSync(join(tmpdir(), 'wqg-chromium-'));
let stack: E2eStack | undefined;
let api: string;
let sim: string;
let key: string;
let browser: BrowserContext | undefined;
let page: Page;
const pageErrors: string[] = [];
/** A tenant's webhook receiver on loopback: records every request, answers 204. */
const received: { headers: Record<string, string>; body: string }[] = [];
let receiver: Server | undefined;
type Envelope = { type: string; data: Record<string, unknown> };

const waitFor = async <T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 45_000) => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
};
/** Waits until the element's text matches (locators, not page functions: the page's CSP forbids eval). */
const textMatches = (id: string, pattern: RegExp, timeout = 45_000) =>
  page.locator(`#${id}`, { hasText: pattern }).waitFor({ timeout });
const statusIs = (status: string) => textMatches('detail-status', new RegExp(`^${status}$`));
const shot = (name: string) => page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });

beforeAll(async () => {
  if (!hasChromium) return;
  mkdirSync(SCREENSHOTS, { recursive: true });
  await Promise.all([
    startE2eStack({ name: 'console' }).then((started) => {
      stack = started;
    }),
    chromium
      .launchPersistentContext(userDataDir, {
        executablePath: CHROMIUM,
        headless: true,
        viewport: { width: 1366, height: 900 },
        args: [
          '--no-sandbox',
          '--headless',
          '--disable-gpu',
          '--disable-quic',
          '--no-first-run',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
        ],
      })
      .then((context) => {
        browser = context;
      }),
  ]);
  ({ api, sim, key } = stack as E2eStack);
  page = browser?.pages()[0] ?? ((await browser?.newPage()) as Page);
  page.on('pageerror', (error) => pageErrors.push(error.message));
  // The console asks before it deletes (confirm): the person says yes.
  page.on('dialog', (dialog) => void dialog.accept());
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await new Promise((r) => (receiver ? receiver.close(r) : r(undefined)));
  await stack?.stop();
  rmSync(userDataDir, { recursive: true, force: true });
}, 60_000);

describe.skipIf(!hasChromium)('the console in headless Chromium', () => {
  it('links by QR and by pairing code with the virtual phone, sends, and shows a contact’s message in the conversation', async () => {
    await page.goto(`${api}/console/`);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 15_000 });
    // The development key came from the stack, not from the person.
    expect(await page.getByLabel('API key').inputValue()).toBe(key);

    await page.getByLabel('Chatbot id').fill('console-bot');
    await page.getByRole('button', { name: 'Link', exact: true }).click();
    const qr = page.getByRole('img', { name: 'QR code to scan with WhatsApp' });
    await qr.waitFor({ state: 'visible', timeout: 45_000 });
    await statusIs('QR_READY');
    // The data URL decoded to a real image.
    expect(
      await qr.evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth),
    ).toBeGreaterThan(0);
    await shot('1-qr-waiting-for-scan');

    await page.getByRole('button', { name: 'Scan QR with virtual phone' }).click();
    await statusIs('CONNECTED');
    expect(await qr.isVisible()).toBe(false);
    expect(await page.locator('#detail-facts').textContent()).toContain(`+${PHONE}`);

    // The AI toggle writes the chatbot through the API.
    await page.getByLabel('AI replies to incoming messages').check();
    await waitFor('aiEnabled through the API', async () => {
      const res = await fetch(`${api}/whatsapp-qr/session/console-bot`, {
        headers: { authorization: `Bearer ${key}` },
      });
      return ((await res.json()) as { chatbot: { aiEnabled: boolean } }).chatbot.aiEnabled;
    });

    await page.getByLabel('To', { exact: true }).fill(`+${CONTACT}`);
    await page.getByLabel('Message', { exact: true }).fill('Hello from the console');
    await page.getByRole('button', { name: 'Send', exact: true }).click();
    await waitFor('the message at the contact', async () => {
      const inbox = (await (await fetch(`${sim}/contacts/${CONTACT}/inbox`)).json()) as { text: string }[];
      return inbox.some((m) => m.text === 'Hello from the console');
    });
    // The page follows the send's status by itself (past QUEUED; receipts may take longer under load).
    await textMatches('send-result', /SENT|DELIVERED|READ/);

    await page.getByLabel('Contact number').fill(CONTACT);
    await page.getByLabel('Text', { exact: true }).fill('Do you ship to Berlin?');
    await page.getByRole('button', { name: 'Send as contact' }).click();
    const messages = page.getByRole('list', { name: 'Messages' });
    await messages.getByText('Do you ship to Berlin?', { exact: true }).waitFor({ timeout: 45_000 });
    await messages.getByText('Hello from the console', { exact: true }).waitFor({ timeout: 15_000 });
    // AI is on for this chatbot: the local stack's offline responder answers, and the reply shows
    // in the conversation by itself and reaches the contact.
    await messages.getByText(/Echo: Do you ship to Berlin\?$/).waitFor({ timeout: 60_000 });
    await waitFor('the AI reply at the contact', async () => {
      const inbox = (await (await fetch(`${sim}/contacts/${CONTACT}/inbox`)).json()) as { text: string }[];
      return inbox.some((m) => m.text.endsWith('Echo: Do you ship to Berlin?'));
    });
    // Conversation manners, end to end: the answered message shows as read at the contact.
    await waitFor('the read receipt for the answered message', async () => {
      const sent = (await (await fetch(`${sim}/contacts/${CONTACT}/sent`)).json()) as {
        text: string;
        readAt?: number;
      }[];
      return sent.some((m) => m.text === 'Do you ship to Berlin?' && m.readAt !== undefined);
    });
    await page
      .getByRole('list', { name: 'Contact inbox' })
      .getByText('Hello from the console')
      .waitFor({ timeout: 15_000 });
    await shot('2-connected-conversation');

    await page.getByRole('button', { name: 'Disconnect' }).click();
    await statusIs('DISCONNECTED');
    await shot('3-disconnected');

    // A second chatbot, linked by pairing code: the virtual phone types the code shown.
    await page.getByLabel('Chatbot id').fill('console-code-bot');
    await page.getByRole('radio', { name: 'Pairing code' }).check();
    await page.getByLabel('Phone number to link (for the pairing code)').fill(`+${CODE_PHONE}`);
    await page.getByRole('button', { name: 'Link', exact: true }).click();
    await textMatches('pairing-code', /^\S{8,9}$/);
    await shot('4-pairing-code');
    await page.getByRole('button', { name: 'Type pairing code' }).click();
    await statusIs('CONNECTED');
    expect(await page.locator('#detail-facts').textContent()).toContain(`+${CODE_PHONE}`);
    expect(await page.getByRole('list', { name: 'Sessions' }).getByRole('button').count()).toBe(2);
    expect(pageErrors).toEqual([]);
  }, 180_000);

  it('adds a webhook on a loopback receiver, shows its secret once, and lists its signed deliveries with their state', async () => {
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk) => {
        body += chunk;
      });
      req.on('end', () => {
        received.push({ headers: req.headers as Record<string, string>, body });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => receiver?.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;

    await page.getByLabel('Endpoint URL').fill(url);
    await page.getByRole('button', { name: 'Add webhook' }).click();
    const secretLine = page.locator('#webhook-secret');
    await secretLine.filter({ hasText: /whsec_/ }).waitFor({ timeout: 15_000 });
    const secret = /(whsec_\S+)/.exec((await secretLine.textContent()) ?? '')?.[1] as string;
    const hooks = page.getByRole('list', { name: 'Webhooks' });
    await hooks.getByText(url, { exact: true }).waitFor({ timeout: 15_000 });
    // Never listed again: neither on the page's list nor by the API.
    expect(await hooks.textContent()).not.toContain('whsec_');
    const listed = await (
      await fetch(`${api}/whatsapp-qr/webhooks`, { headers: { authorization: `Bearer ${key}` } })
    ).text();
    expect(listed).toContain(url);
    expect(listed).not.toContain('whsec_');
    await shot('5-webhook-secret-once');

    // An event: a contact writes to the linked session on screen (console-code-bot).
    await page.getByLabel('Contact number').fill(HOOK_CONTACT);
    await page.getByLabel('Text', { exact: true }).fill('Is the webhook on?');
    await page.getByRole('button', { name: 'Send as contact' }).click();
    const event = await waitFor(
      'message.received at the receiver',
      async () =>
        received
          .map((r) => ({ ...r, event: new Webhook(secret).verify(r.body, r.headers) as Envelope }))
          .find((r) => r.event.type === 'message.received' && r.event.data.text === 'Is the webhook on?'),
      60_000,
    );
    // Signed with the secret the page showed; the contact's display name travels with it.
    expect(event.event.data).toMatchObject({
      from: `${HOOK_CONTACT}@s.whatsapp.net`,
      pushName: `Contact ${HOOK_CONTACT}`,
      chatbotId: 'console-code-bot',
    });

    await page
      .getByRole('list', { name: 'Messages' })
      .getByText('Is the webhook on?', { exact: true })
      .waitFor({ timeout: 15_000 });
    // The contact panel follows the number typed (it showed the previous contact's inbox before).
    await page
      .getByRole('list', { name: 'Contact inbox' })
      .getByText('Nothing yet.')
      .waitFor({ timeout: 10_000 });
    await hooks.getByRole('button', { name: 'Deliveries' }).click();
    const row = page
      .locator('#delivery-rows tr')
      .filter({ hasText: event.headers['webhook-id'] as string })
      .filter({ hasText: 'message.received' });
    await row.filter({ hasText: 'delivered' }).waitFor({ timeout: 30_000 });
    expect(await row.locator('td').nth(3).textContent()).toBe('1'); // attempts
    expect(await page.locator('#delivery-caption').textContent()).toBe(`Deliveries to ${url}`);
    await shot('6-webhook-deliveries');
    expect(pageErrors).toEqual([]);
  }, 120_000);

  it('deletes a session: it leaves the list and the API answers 404 for it', async () => {
    const sessions = page.getByRole('list', { name: 'Sessions' });
    const item = sessions
      .getByRole('button')
      .filter({ has: page.locator('.name', { hasText: /^console-bot$/ }) });
    await item.click();
    await textMatches('detail-chatbot', /^console-bot$/);
    const { sessionId } = (await (
      await fetch(`${api}/whatsapp-qr/session/console-bot`, { headers: { authorization: `Bearer ${key}` } })
    ).json()) as { sessionId: string };
    expect(await page.locator('#detail-facts').textContent()).toContain(sessionId);

    await page.getByRole('button', { name: 'Delete session' }).click();
    await page.locator('#no-session').waitFor({ state: 'visible', timeout: 15_000 });
    const auth = { headers: { authorization: `Bearer ${key}` } };
    expect((await fetch(`${api}/whatsapp-qr/status/${sessionId}`, auth)).status).toBe(404);
    // The listing shows it DELETING until the runner has unlinked the device and removed it.
    await waitFor('the session gone from the listing', async () => {
      const listed = (await (await fetch(`${api}/whatsapp-qr/sessions`, auth)).json()) as {
        items: { sessionId: string }[];
      };
      return !listed.items.some((s) => s.sessionId === sessionId);
    });
    await item.waitFor({ state: 'detached', timeout: 15_000 });
    await sessions.getByRole('button').filter({ hasText: 'console-code-bot' }).waitFor();
    await shot('7-session-deleted');
    expect(pageErrors).toEqual([]);
  }, 90_000);
});
