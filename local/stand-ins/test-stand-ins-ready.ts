import { inject } from 'vitest';

// Setup file of the integration project: before a file's first line runs, the run's stand-ins
// serve. The global setup (test-global-setup.ts) starts DynamoDB Local without waiting for it, so
// that `npm test` runs its unit tests meanwhile; once it is up this costs one loopback request.
const res = await fetch(inject('standInsReady'));
if (!res.ok) throw new Error(await res.text());
