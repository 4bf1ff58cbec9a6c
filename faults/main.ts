import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startFauxqs } from 'fauxqs';
import { startDynamoDbLocal } from '#local/stand-ins/dynamodb-local.ts';
import { startFaultStack } from './fault-stack.ts';
import { formatTable } from './report.ts';
import type { RowResult } from './row.ts';
import { ROWS } from './rows.ts';

// `npm run faults [-- [--short] r1 r3 …]`: every built row (or the named ones) at full size (or the
// short size `npm test` uses) on the fault
// stack; prints progress and the table, writes `.faults/results.json`, exits 1 when a row fails.

const OUT_DIR = join(import.meta.dirname, '..', '.faults');

const main = async () => {
  Object.assign(process.env, {
    AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID ?? 'S3RVER',
    AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY ?? 'S3RVER',
    AWS_REGION: process.env.AWS_REGION ?? 'us-east-1',
  });
  const args = process.argv.slice(2);
  const size = args.includes('--short') ? 'short' : 'full';
  const wanted = args.filter((a) => a !== '--short');
  const rows = wanted.length ? ROWS.filter((r) => wanted.includes(r.key)) : ROWS;
  const unknown = wanted.filter((k) => !ROWS.some((r) => r.key === k));
  if (unknown.length)
    throw new Error(`no row ${unknown.join(', ')} (built: ${ROWS.map((r) => r.key).join(', ')})`);
  mkdirSync(OUT_DIR, { recursive: true });
  const log = (line: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`);
  log('starting DynamoDB Local, the S3 stand-in, the SQS double, the simulator and the API');
  const dynamo = await startDynamoDbLocal();
  const s3 = await startFauxqs({ port: 0, host: '127.0.0.1', logger: false });
  const stack = await startFaultStack({
    dynamoEndpoint: dynamo.endpoint,
    s3Endpoint: `http://127.0.0.1:${s3.port}`,
    logDir: join(OUT_DIR, 'logs', new Date().toISOString().replace(/[:.]/g, '-')),
  });
  const results: RowResult[] = [];
  try {
    for (const r of rows) {
      log(`${r.key}: running`);
      const result = await r.run(stack, size, log);
      results.push(result);
      log(`${r.key}: ${result.ok ? 'PASS' : 'FAIL'} in ${Math.round(result.durationMs / 1000)} s`);
      writeFileSync(
        join(OUT_DIR, 'results.json'),
        `${JSON.stringify({ at: new Date().toISOString(), rows: results }, null, 2)}\n`,
      );
    }
  } finally {
    await stack.close();
    await s3.stop();
    await dynamo.stop();
  }
  console.log(`\n${formatTable(results)}\n`);
  console.log('results: .faults/results.json; runner logs: .faults/logs/<start time>/');
  process.exit(results.every((r) => r.ok) ? 0 : 1);
};

main().catch((error) => {
  console.error(`faults: ${error instanceof Error ? error.stack : String(error)}`);
  process.exit(1);
});
