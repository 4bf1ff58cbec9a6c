import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';

/**
 * Shows the runner's output in the terminal as a person reads it: its JSON log lines (heartbeat
 * metrics every 30 s, info lines) go to `logFile` only, warnings and errors also to the terminal as
 * one readable line, and anything that is not JSON (the QR to scan) passes through unchanged.
 */
export const formatRunnerOutput = (
  input: NodeJS.ReadableStream,
  logFile: string,
  print: (line: string) => void,
): void => {
  mkdirSync(dirname(logFile), { recursive: true });
  const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  lines.on('line', (line) => {
    const entry = parseJson(line);
    if (!entry) {
      print(line);
      return;
    }
    appendFileSync(logFile, `${line}\n`);
    const readable = readableLine(entry);
    if (readable) print(readable);
  });
};

/** One terminal line for a warning or an error of the runner; undefined for what only the log file keeps. */
export const readableLine = (entry: Record<string, unknown>): string | undefined => {
  const level = String(entry.level ?? '').toUpperCase();
  if (level !== 'WARN' && level !== 'ERROR' && level !== 'CRITICAL') return undefined;
  const skip = new Set(['level', 'message', 'timestamp', 'service', 'sampling_rate', 'xray_trace_id']);
  const details = Object.entries(entry)
    .filter(([key, value]) => !skip.has(key) && value !== undefined)
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`);
  const suffix = details.length ? ` (${details.join(', ')})` : '';
  return `runner ${level === 'WARN' ? 'warning' : 'error'}: ${String(entry.message ?? '')}${suffix}`;
};

const parseJson = (line: string): Record<string, unknown> | undefined => {
  if (!line.startsWith('{')) return undefined;
  try {
    const value = JSON.parse(line) as unknown;
    return value && typeof value === 'object' ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
};
