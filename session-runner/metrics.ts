/** The runner's CloudWatch metrics (namespace `WhatsAppGateway`), as Embedded Metric Format log lines. */
export type RunnerMetric =
  | 'LeaseLost'
  | 'Disconnect440'
  | 'Disconnect401'
  | 'RunnerHeartbeat'
  | 'CommandsFailed';

export type MetricSink = (name: RunnerMetric, value?: number) => void;

export const emfMetrics =
  (write: (line: string) => void = (line) => process.stdout.write(`${line}\n`)): MetricSink =>
  (name, value = 1) =>
    write(
      JSON.stringify({
        _aws: {
          Timestamp: Date.now(),
          CloudWatchMetrics: [
            {
              Namespace: 'WhatsAppGateway',
              Dimensions: [['service']],
              Metrics: [{ Name: name, Unit: 'Count' }],
            },
          ],
        },
        service: 'session-runner',
        [name]: value,
      }),
    );
