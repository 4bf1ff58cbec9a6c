import { Duration, type RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { ManagedPolicy, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import {
  BlockPublicAccess,
  Bucket,
  BucketEncryption,
  type CfnBucket,
  ObjectOwnership,
} from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { MEDIA_PREFIX } from '#shared/domain/media.ts';

export interface AuthStateBucketProps {
  removalPolicy: RemovalPolicy;
  /** Days an overwritten or deleted auth-state object stays recoverable. */
  noncurrentVersionDays?: number;
  /** Days the S3 server access logs are kept. */
  accessLogDays?: number;
  /** Days the tenants' files under `media/` are kept (`MEDIA_RETENTION_DAYS`, default 30). */
  mediaRetentionDays?: number;
}

/**
 * The S3 bucket of the runner's Baileys auth state (creds and Signal keys: secrets that let
 * anyone impersonate a linked device). A customer-managed key with rotation, versioning so a bad
 * compaction can be rolled back, old versions expired, TLS only, no public access, and access logs.
 * Incoming media lives here too, under `media/<tenantId>/` (same key, its own retention rule).
 */
export class AuthStateBucket extends Construct {
  readonly bucket: Bucket;
  readonly key: Key;
  readonly accessLogs: Bucket;
  /**
   * What a user of the auth state needs: read, write and delete objects (the auth state under
   * `sessions/<id>/auth/` and the incoming-message spool under `spool/<id>/`), list the bucket, and
   * the KMS calls of SSE-KMS through S3 only. Defined beside the bucket, so the single wildcard
   * (the object keys) is acknowledged where the bucket is known.
   */
  readonly readWritePolicy: ManagedPolicy;
  /**
   * What the media route needs: read the tenants' files under `media/` (HEAD for the description,
   * and the GET of a presigned link, which S3 authorizes with the signer's role) and decrypt them
   * through S3. Nothing else of the bucket: no auth state, no listing, no writes.
   */
  readonly mediaReadPolicy: ManagedPolicy;
  /**
   * What the route that describes a file needs (`GET /media/{id}`): the media read policy, and
   * the copy of a file onto itself that records its sha256 once (a tenant's upload has none):
   * get and put under `media/`, decrypt and the data key through S3. No delete, no listing.
   */
  readonly mediaDescribePolicy: ManagedPolicy;
  /**
   * What the upload route needs: put objects under `media/` (the upload's reservation, and the
   * tenant's PUT through the presigned URL, which S3 authorizes with this role) and the KMS data
   * key for them. No read, no delete.
   */
  readonly mediaUploadPolicy: ManagedPolicy;

  constructor(scope: Construct, id: string, props: AuthStateBucketProps) {
    super(scope, id);
    this.key = new Key(this, 'Key', {
      description: 'WhatsApp gateway: session auth state (Baileys creds and Signal keys)',
      enableKeyRotation: true,
      removalPolicy: props.removalPolicy,
      pendingWindow: Duration.days(30),
    });

    // Log delivery cannot write to an SSE-KMS bucket: the log bucket uses SSE-S3.
    this.accessLogs = new Bucket(this, 'AccessLogs', {
      encryption: BucketEncryption.S3_MANAGED,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      lifecycleRules: [{ id: 'expire-access-logs', expiration: Duration.days(props.accessLogDays ?? 90) }],
      removalPolicy: props.removalPolicy,
    });
    Validations.of(this.accessLogs).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'This is the access-log destination of the auth-state bucket; logging it into itself would loop.',
    });

    this.bucket = new Bucket(this, 'Bucket', {
      encryption: BucketEncryption.KMS,
      encryptionKey: this.key,
      // One data key per bucket instead of one KMS call per PUT (about one PUT per message).
      bucketKeyEnabled: true,
      versioned: true,
      lifecycleRules: [
        {
          id: 'expire-old-versions',
          noncurrentVersionExpiration: Duration.days(props.noncurrentVersionDays ?? 14),
          expiredObjectDeleteMarker: true,
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
        {
          // Incoming media (media/<tenantId>/<mediaId>) is kept for the retention period only,
          // and a replaced or expired file is not kept as an old version either.
          id: 'expire-media',
          prefix: MEDIA_PREFIX,
          expiration: Duration.days(props.mediaRetentionDays ?? 30),
          noncurrentVersionExpiration: Duration.days(1),
        },
      ],
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      serverAccessLogsBucket: this.accessLogs,
      serverAccessLogsPrefix: 'auth-state/',
      removalPolicy: props.removalPolicy,
    });

    this.readWritePolicy = new ManagedPolicy(this, 'ReadWritePolicy', {
      description: 'WhatsApp gateway: read and write session auth state',
      statements: [
        new PolicyStatement({
          sid: 'AuthStateObjects',
          actions: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'],
          resources: [this.bucket.arnForObjects('*')],
        }),
        new PolicyStatement({
          sid: 'AuthStateListing',
          actions: ['s3:ListBucket'],
          resources: [this.bucket.bucketArn],
        }),
        new PolicyStatement({
          sid: 'AuthStateKeyThroughS3',
          actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
          resources: [this.key.keyArn],
          conditions: { StringEquals: { 'kms:ViaService': `s3.${Stack.of(this).region}.amazonaws.com` } },
        }),
      ],
    });
    this.mediaReadPolicy = new ManagedPolicy(this, 'MediaReadPolicy', {
      description: 'WhatsApp gateway: read the tenants media files',
      statements: [
        new PolicyStatement({
          sid: 'MediaObjects',
          actions: ['s3:GetObject'],
          resources: [this.bucket.arnForObjects(`${MEDIA_PREFIX}*`)],
        }),
        new PolicyStatement({
          sid: 'MediaKeyThroughS3',
          actions: ['kms:Decrypt'],
          resources: [this.key.keyArn],
          conditions: { StringEquals: { 'kms:ViaService': `s3.${Stack.of(this).region}.amazonaws.com` } },
        }),
      ],
    });
    this.mediaDescribePolicy = new ManagedPolicy(this, 'MediaDescribePolicy', {
      description: 'WhatsApp gateway: read the tenants media files and record their sha256',
      statements: [
        new PolicyStatement({
          sid: 'MediaObjects',
          // CopyObject onto itself: GetObject of the source, PutObject of the target.
          actions: ['s3:GetObject', 's3:PutObject'],
          resources: [this.bucket.arnForObjects(`${MEDIA_PREFIX}*`)],
        }),
        new PolicyStatement({
          sid: 'MediaKeyThroughS3',
          actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
          resources: [this.key.keyArn],
          conditions: { StringEquals: { 'kms:ViaService': `s3.${Stack.of(this).region}.amazonaws.com` } },
        }),
      ],
    });
    this.mediaUploadPolicy = new ManagedPolicy(this, 'MediaUploadPolicy', {
      description: 'WhatsApp gateway: upload the tenants media files',
      statements: [
        new PolicyStatement({
          sid: 'MediaUploads',
          actions: ['s3:PutObject'],
          resources: [this.bucket.arnForObjects(`${MEDIA_PREFIX}*`)],
        }),
        new PolicyStatement({
          sid: 'MediaKeyThroughS3',
          actions: ['kms:GenerateDataKey'],
          resources: [this.key.keyArn],
          conditions: { StringEquals: { 'kms:ViaService': `s3.${Stack.of(this).region}.amazonaws.com` } },
        }),
      ],
    });
    const bucketLogicalId = Stack.of(this).getLogicalId(this.bucket.node.defaultChild as CfnBucket);
    Validations.of(this.mediaUploadPolicy).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${bucketLogicalId}.Arn>/${MEDIA_PREFIX}*]`,
      reason:
        'Uploads are per tenant and id (media/<tenantId>/<mediaId>, ids created at runtime); put only, this bucket only, the media prefix only.',
    });
    Validations.of(this.mediaReadPolicy).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${bucketLogicalId}.Arn>/${MEDIA_PREFIX}*]`,
      reason:
        'Files are per tenant and id (media/<tenantId>/<mediaId>, ids created at runtime); read only, this bucket only, the media prefix only.',
    });
    Validations.of(this.mediaDescribePolicy).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${bucketLogicalId}.Arn>/${MEDIA_PREFIX}*]`,
      reason:
        'Files are per tenant and id (media/<tenantId>/<mediaId>, ids created at runtime); get and put (a copy onto itself that adds the sha256), this bucket only, the media prefix only.',
    });
    Validations.of(this.readWritePolicy).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${bucketLogicalId}.Arn>/*]`,
      reason:
        'Object keys are per session (auth state under sessions/<id>/, the incoming spool under spool/<id>/, ids created at runtime); the policy is limited to this bucket and to get, put and delete.',
    });
  }
}
