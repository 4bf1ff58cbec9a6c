import type { RowResult } from './row.ts';

/** The fault table as text: one line per row, then each failure indented under its row. */
export const formatTable = (rows: RowResult[]): string => {
  const lines = rows.map((r) => {
    const measured = Object.entries(r.measured)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
    return [
      `${r.key.padEnd(4)}${(r.ok ? 'PASS' : 'FAIL').padEnd(6)}${`${Math.round(r.durationMs / 1000)} s`.padEnd(8)}${r.scenario}`,
      `          ${measured}`,
      ...r.failures.map((f) => `          ✗ ${f}`),
    ].join('\n');
  });
  return ['key status time    scenario', ...lines].join('\n');
};
