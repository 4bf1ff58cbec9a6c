import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoTable } from '#shared/adapters/dynamodb-table.ts';
import { DynamoTenantStore } from '#shared/adapters/dynamodb-tenant-store.ts';
import { provisionTestAws, type TestAws } from '#shared/testing/aws-test-env.ts';
import { type LocalApi, startLocalApi } from './api-gateway.ts';

// `npm run tenant` as an operator runs it: a real process against a "running stack" (a stack.json
// naming this test process and the test's DynamoDB Local), and the real API checking the keys.

const CLI = resolve(import.meta.dirname, 'tenant-cli.ts');
// By URL, so that the CLI also starts from a folder outside the repository.
const TSX = import.meta.resolve('tsx');
let aws: TestAws;
let api: LocalApi;
let dataDir: string;
let emptyDir: string;
let tenants: DynamoTenantStore;

beforeAll(async () => {
  aws = await provisionTestAws();
  Object.assign(process.env, aws.env, { POWERTOOLS_LOG_LEVEL: 'ERROR' });
  api = await startLocalApi({ port: 0 });
  dataDir = mkdtempSync(join(tmpdir(), 'wqg-tenant-cli-'));
  emptyDir = mkdtempSync(join(tmpdir(), 'wqg-tenant-cwd-'));
  writeFileSync(
    join(dataDir, 'stack.json'),
    JSON.stringify({ pid: process.pid, apiUrl: api.url, env: aws.env }),
  );
  tenants = new DynamoTenantStore(new DynamoTable(aws.clients.dynamo, aws.env.TENANTS_TABLE as string));
});
afterAll(async () => {
  await api?.close();
  aws?.destroy();
  for (const dir of [dataDir, emptyDir]) if (dir) rmSync(dir, { recursive: true, force: true });
});

const cli = (args: string[], options: { dataDir?: string | null; cwd?: string } = {}) => {
  // Only what an operator's shell would have: no table names, no endpoints.
  const { TENANTS_TABLE: _t, DYNAMODB_ENDPOINT: _d, DATA_DIR: _dd, ...env } = process.env;
  const dir = options.dataDir === undefined ? dataDir : options.dataDir;
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((done, fail) => {
    const child = spawn(process.execPath, ['--import', TSX, CLI, ...args], {
      cwd: options.cwd ?? process.cwd(),
      env: { ...env, ...(dir !== null && { DATA_DIR: dir }) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.once('error', fail);
    child.once('exit', (code) => done({ code, stdout, stderr }));
  });
};
const json = (out: { stdout: string }) => JSON.parse(out.stdout);
const statusWith = async (key: string) =>
  (await fetch(`${api.url}/whatsapp-qr/openapi.json`, { headers: { authorization: `Bearer ${key}` } }))
    .status;

describe('npm run tenant', () => {
  it('creates a tenant whose key works, lists it, and lists its keys as prefixes and dates only', async () => {
    const created = await cli(['create', 'Acme']);
    expect(created.code).toBe(0);
    const { tenantId, apiKey } = json(created);
    expect(apiKey).toMatch(/^wqg_/);
    expect(await statusWith(apiKey)).toBe(200);

    const [listed, keys] = await Promise.all([cli(['list']), cli(['keys', tenantId])]);
    expect(json(listed)).toContainEqual({
      tenantId,
      name: 'Acme',
      createdAt: expect.any(String),
      disabled: false,
    });
    expect(json(keys)).toEqual([{ prefix: apiKey.slice(0, 12), createdAt: expect.any(String) }]);
    expect(keys.stdout).not.toContain(apiKey);
  });

  it('refuses add-key and keys for an unknown tenant with a clear message and exit 1, making no key', async () => {
    const [added, keys] = await Promise.all([
      cli(['add-key', 'no-such-tenant']),
      cli(['keys', 'no-such-tenant']),
    ]);
    for (const out of [added, keys]) {
      expect(out.code).toBe(1);
      expect(out.stderr).toContain('No tenant "no-such-tenant"');
      expect(out.stdout).toBe('');
    }
    expect(await tenants.listApiKeys('no-such-tenant')).toEqual([]);
  });

  it('refuses to revoke a key that does not exist (exit 1), and revokes a real one at once', async () => {
    const unknown = await cli(['revoke-key', 'wqg_not-a-key']);
    expect([unknown.code, unknown.stdout]).toEqual([1, '']);
    expect(unknown.stderr).toContain('No such API key');

    const { tenantId, apiKey } = json(await cli(['create', 'Rotating']));
    const added = await cli(['add-key', tenantId]);
    expect(added.code).toBe(0);
    const second = json(added).apiKey as string;
    const revoked = await cli(['revoke-key', apiKey]);
    expect([revoked.code, json(revoked)]).toEqual([0, { revoked: true }]);
    expect(await statusWith(apiKey)).toBe(401);
    expect(await statusWith(second)).toBe(200);
    expect(json(await cli(['keys', tenantId]))).toEqual([
      { prefix: second.slice(0, 12), createdAt: expect.any(String) },
    ]);
  });

  it('disables a tenant: its keys answer 401 on the next request, and work again once enabled', async () => {
    const { tenantId, apiKey } = json(await cli(['create', 'Paused']));
    const disabled = await cli(['disable', tenantId]);
    expect([disabled.code, json(disabled)]).toEqual([0, { tenantId, disabled: true }]);
    const refused = await fetch(`${api.url}/whatsapp-qr/openapi.json`, { headers: { 'x-api-key': apiKey } });
    expect(refused.status).toBe(401);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('UNAUTHORIZED');
    expect(json(await cli(['list']))).toContainEqual(expect.objectContaining({ tenantId, disabled: true }));

    expect((await cli(['enable', tenantId])).code).toBe(0);
    expect(await statusWith(apiKey)).toBe(200);
    const unknown = await cli(['disable', 'no-such-tenant']);
    expect([unknown.code, unknown.stderr.includes('No tenant')]).toEqual([1, true]);
  });

  it('without DATA_DIR and no stack running in ./.data, refuses and writes nothing', async () => {
    const out = await cli(['create', 'Lost'], { dataDir: null, cwd: emptyDir });
    expect(out.code).toBe(1);
    expect(out.stderr).toContain('No local stack is running in .data');
    expect(out.stderr).toContain('DATA_DIR');
    expect(existsSync(join(emptyDir, '.data'))).toBe(false);
  });

  it('answers usage errors with exit 1', async () => {
    const [none, extra] = await Promise.all([cli([]), cli(['list', 'extra'])]);
    for (const out of [none, extra]) {
      expect(out.code).toBe(1);
      expect(out.stderr).toContain('usage: npm run tenant');
    }
  });
});
