import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../stand-ins/free-port.ts';

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
const dataDir = mkdtempSync(join(tmpdir(), 'wqg-console-'));
const userDataDir = mkdtempSync(join(tmpdir(), 'wqg-chromium-'));
let stack: ChildProcess | undefined;
let output = '';
let api: string;
let sim: string;
let key: string;
let browser: BrowserContext | undefined;
let page: Page;
const pageErrors: string[] = [];

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
  const port = await freePort();
  const { DEV_API_KEY: _unset, ...env } = process.env;
  stack = spawn('npm', ['start'], {
    env: {
      ...env,
      PORT: String(port),
      DATA_DIR: dataDir,
      WHATSAPP: 'simulator',
      SIMULATOR_PORT: '0',
      POWERTOOLS_LOG_LEVEL: 'ERROR',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const collect = (chunk: Buffer) => {
    output += chunk;
  };
  stack.stdout?.on('data', collect);
  stack.stderr?.on('data', collect);
  const [ready] = await Promise.all([
    waitFor('the ready line', async () => /^ready: .*$/m.exec(output)?.[0], 90_000),
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
  api = /api=(\S+)/.exec(ready)?.[1] as string;
  sim = /simulator=(\S+)/.exec(ready)?.[1] as string;
  key = readFileSync(join(dataDir, 'dev-api-key'), 'utf8').trim();
  page = browser?.pages()[0] ?? ((await browser?.newPage()) as Page);
  page.on('pageerror', (error) => pageErrors.push(error.message));
}, 120_000);

afterAll(async () => {
  await browser?.close();
  if (stack && stack.exitCode === null) {
    const exited = new Promise((r) => stack?.once('exit', r));
    try {
      const { stack: pid } = JSON.parse(readFileSync(join(dataDir, 'pids.json'), 'utf8')) as {
        stack: number;
      };
      process.kill(pid, 'SIGTERM');
    } catch {
      if (stack.pid) process.kill(-stack.pid, 'SIGTERM');
    }
    const timeout = new Promise((r) => setTimeout(r, 30_000, 'timeout'));
    if ((await Promise.race([exited, timeout])) === 'timeout' && stack.pid)
      process.kill(-stack.pid, 'SIGKILL');
  }
  rmSync(dataDir, { recursive: true, force: true });
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
  }, 150_000);
});
