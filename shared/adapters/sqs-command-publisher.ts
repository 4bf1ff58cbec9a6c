import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { Command } from '../contracts/commands.ts';
import type { CommandPublisher } from '../ports/command-publisher.ts';
import { guard } from './aws-errors.ts';

/** Publishes to `commands-<shard>.fifo`: one message group per session, deduplicated by commandId. */
export class SqsCommandPublisher implements CommandPublisher {
  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrls: readonly string[],
  ) {}

  async publish(shard: number, command: Command): Promise<void> {
    const queueUrl = this.queueUrls[shard];
    if (!queueUrl) throw new Error(`No command queue for shard ${shard}`);
    const body = Command.parse(command);
    await guard('sqs', () =>
      this.sqs.send(
        new SendMessageCommand({
          QueueUrl: queueUrl,
          MessageBody: JSON.stringify(body),
          MessageGroupId: body.sessionId,
          MessageDeduplicationId: body.commandId,
        }),
      ),
    );
  }
}
