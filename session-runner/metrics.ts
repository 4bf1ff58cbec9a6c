/** The runner's CloudWatch metrics (namespace `WhatsAppGateway`), as Embedded Metric Format log lines. */
export type RunnerMetric =
  | 'LeaseLost'
  | 'Disconnect440'
  | 'Disconnect401'
  | 'RunnerHeartbeat'
  | 'CommandsFailed'
  /** An incoming message SQS did not take, stored in the S3 spool instead. */
  | 'IncomingSpooled'
  /** A spooled incoming message delivered to SQS later. */
  | 'IncomingRedriven'
  /** An incoming message neither SQS nor S3 took (or an invalid one): lost. Should stay 0. */
  | 'IncomingDropped'
  /** A send that never left, enqueued again by the sweeper. */
  | 'SendsResent'
  /** A send the sweeper gave up on (FAILED NOT_SENT). Should stay 0. */
  | 'SendsGivenUp';

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
