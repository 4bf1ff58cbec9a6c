import type { RemovalPolicy } from 'aws-cdk-lib';
import {
  FlowLogDestination,
  FlowLogTrafficType,
  IpAddresses,
  type SubnetSelection,
  SubnetType,
  Vpc,
} from 'aws-cdk-lib/aws-ec2';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { StageConfig } from '../stage-config.ts';

export interface NetworkProps {
  vpc: StageConfig['vpc'];
  logRetention: RetentionDays;
  logRemovalPolicy: RemovalPolicy;
}

export const DEFAULT_VPC_CIDR = '10.40.0.0/16';

/**
 * The runner's VPC. By default public subnets only and no NAT gateway: the task has a public IP
 * but a security group without ingress, which costs nothing per hour. `private-nat` puts the task
 * in private subnets behind NAT gateways instead. Rejected traffic is flow-logged.
 */
export class Network extends Construct {
  readonly vpc: Vpc;
  /** Where the runner tasks go. */
  readonly taskSubnets: SubnetSelection;
  /** Whether the tasks need a public IP to reach WhatsApp and AWS. */
  readonly assignPublicIp: boolean;

  constructor(scope: Construct, id: string, props: NetworkProps) {
    super(scope, id);
    const isPublic = props.vpc.mode === 'public';
    this.vpc = new Vpc(this, 'Vpc', {
      ipAddresses: IpAddresses.cidr(props.vpc.cidr ?? DEFAULT_VPC_CIDR),
      maxAzs: props.vpc.maxAzs,
      natGateways: isPublic ? 0 : props.vpc.natGateways,
      subnetConfiguration: isPublic
        ? [{ name: 'Public', subnetType: SubnetType.PUBLIC, cidrMask: 24 }]
        : [
            { name: 'Public', subnetType: SubnetType.PUBLIC, cidrMask: 24 },
            { name: 'Private', subnetType: SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 22 },
          ],
    });
    const flowLogs = new LogGroup(this, 'FlowLogs', {
      retention: props.logRetention,
      removalPolicy: props.logRemovalPolicy,
    });
    this.vpc.addFlowLog('FlowLog', {
      destination: FlowLogDestination.toCloudWatchLogs(flowLogs),
      trafficType: FlowLogTrafficType.REJECT,
    });
    this.taskSubnets = { subnetType: isPublic ? SubnetType.PUBLIC : SubnetType.PRIVATE_WITH_EGRESS };
    this.assignPublicIp = isPublic;
  }
}
