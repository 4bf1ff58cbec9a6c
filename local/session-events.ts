import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';

interface SessionRow {
  sessionId: string;
  chatbotId?: string;
  status: string;
  phoneNumber?: string;
  lastError?: string;
  connectedAt?: string;
}

/** The terminal line for a session's state, e.g. `session 1f… (chatbot shop): connected as +4915…`. */
export const describeSession = (s: SessionRow): string => {
  const reason = s.lastError ? `: ${s.lastError}` : '';
  const what = (() => {
    switch (s.status) {
      case 'CONNECTING':
        return `connecting${s.lastError ? ` (last error ${s.lastError})` : ''}`;
      case 'QR_READY':
        return 'waiting for a QR scan';
      case 'CONNECTED':
        return `connected as ${s.phoneNumber ? `+${s.phoneNumber.replace(/^\+/, '')}` : 'an unknown number'}`;
      case 'DISCONNECTED':
        return `disconnected${reason}`;
      case 'LOGGED_OUT':
        return `logged out${reason}`;
      default:
        return `${s.status.toLowerCase()}${reason}`;
    }
  })();
  return `session ${s.sessionId}${s.chatbotId ? ` (chatbot ${s.chatbotId})` : ''}: ${what}`;
};

/**
 * Prints one line per change of a session's state, read from the sessions table (the runner writes
 * every transition there), so the terminal tells what happens instead of the runner's JSON logs.
 * What the table holds at start is the previous run's state: it is the baseline, not news. It polls
 * (every 500 ms), so a state that lasts less than that may go unprinted; the last one never is.
 */
export const watchSessionEvents = (options: {
  dynamo: DynamoDBDocumentClient;
  table: string;
  print(line: string): void;
  intervalMs?: number;
}): { stop(): void } => {
  const seen = new Map<string, string>();
  let first = true;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const poll = async () => {
    const rows: SessionRow[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await options.dynamo.send(
        new ScanCommand({
          TableName: options.table,
          ProjectionExpression: 'sessionId, chatbotId, #s, phoneNumber, lastError, connectedAt',
          ExpressionAttributeNames: { '#s': 'status' },
          ExclusiveStartKey: start,
        }),
      );
      rows.push(...((page.Items ?? []) as SessionRow[]).filter((r) => r.sessionId && r.status));
      start = page.LastEvaluatedKey;
    } while (start);
    for (const row of rows) {
      const key = [row.status, row.lastError, row.phoneNumber, row.connectedAt].join('|');
      if (seen.get(row.sessionId) === key) continue;
      seen.set(row.sessionId, key);
      if (!first && !stopped) options.print(describeSession(row));
    }
    first = false;
  };
  const loop = () => {
    void poll()
      .catch(() => undefined) // DynamoDB down: /healthz says so; try again on the next round
      .finally(() => {
        if (!stopped) timer = setTimeout(loop, options.intervalMs ?? 500);
      });
  };
  loop();
  return {
    stop: () => {
      stopped = true;
      clearTimeout(timer);
    },
  };
};
