import { inject } from 'vitest';
import { createDynamoClient } from '#shared/adapters/dynamodb-client.ts';
import { DynamoTable } from '#shared/adapters/dynamodb-table.ts';
import { DynamoTenantStore } from '#shared/adapters/dynamodb-tenant-store.ts';
import { systemClock } from '#shared/ports/clock.ts';
import { createTenant } from '#shared/use-cases/tenants.ts';
import { readStackState } from '../stack-files.ts';

// The run's shared `npm start` stack (see e2e-stack-broker.ts), for an e2e file that neither
// breaks the stack nor needs its output: a tenant of the file's own keeps its sessions, chatbots,
// conversations, usage, webhooks and media apart from the other files on the same stack, which
// may run at the same time. Phone numbers must differ between files (one simulator).

/** The shared stack as one test file sees it. */
export interface SharedE2eStack {
  /** The API's base URL (`http://127.0.0.1:<port>`), routes under `/whatsapp-qr`. */
  api: string;
  /** The simulator's control API. */
  sim: string;
  /** An API key of a tenant made for this file alone. */
  key: string;
  tenantId: string;
  /** The stack's data folder (shared: look only under this tenant's own prefixes). */
  dataDir: string;
  /** Lets go of the stack (it stops once no file uses it). Safe to call twice. */
  release(): Promise<void>;
}

/**
 * Waits for the run's shared e2e stack (the first caller starts it) and makes a tenant named
 * `tenantName` on it. The caller's `afterAll` should call `release()`.
 */
export const sharedE2eStack = async (tenantName: string): Promise<SharedE2eStack> => {
  const broker = inject('e2eStackBroker');
  const res = await fetch(`${broker}/acquire`, { method: 'POST' });
  const body = (await res.json()) as { api: string; sim: string; dataDir: string; error?: string };
  if (!res.ok) throw new Error(`the shared e2e stack did not start: ${body.error}`);
  let released = false;
  const release = async () => {
    if (released) return;
    released = true;
    await fetch(`${broker}/release`, { method: 'POST' });
  };
  try {
    const state = readStackState(body.dataDir);
    if (!state) throw new Error(`no stack runs in ${body.dataDir}`);
    const dynamo = createDynamoClient(state.env);
    try {
      const tenants = new DynamoTenantStore(new DynamoTable(dynamo, state.env.TENANTS_TABLE as string));
      const { tenant, apiKey } = await createTenant({ tenants, clock: systemClock }, tenantName);
      return {
        api: body.api,
        sim: body.sim,
        dataDir: body.dataDir,
        key: apiKey,
        tenantId: tenant.tenantId,
        release,
      };
    } finally {
      dynamo.destroy();
    }
  } catch (error) {
    await release();
    throw error;
  }
};
