/**
 * Every AWS number swarmcast relies on — quotas, size limits and list prices — in one table,
 * each with the documentation page it comes from. Code that needs one imports it from here;
 * the local stack enforces the quotas with these defaults.
 */

const API_GATEWAY_QUOTAS = 'https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html';
const API_GATEWAY_WEBSOCKET_QUOTAS =
  'https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-execution-service-websocket-limits-table.html';
const STEP_FUNCTIONS_QUOTAS = 'https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html';
const SQS_QUOTAS = 'https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-messages.html';
const LAMBDA_QUOTAS = 'https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html';
const DYNAMODB_QUOTAS = 'https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html';
const CLOUDFORMATION_QUOTAS =
  'https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html';
const LAMBDA_SQS_SCALING = 'https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html';
const LAMBDA_MEMORY = 'https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html';
const CLOUDWATCH_EMF =
  'https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html';

export interface AwsNumber {
  value: number;
  source: string;
}

/**
 * The 13 Regions whose default API Gateway account throttle is 2,500/s with a 1,250 burst instead
 * of 10,000/5,000 (API_GATEWAY_QUOTAS, checked 2026-12-07): Africa (Cape Town), Europe (Milan),
 * Asia Pacific (Jakarta), Middle East (UAE), Asia Pacific (Hyderabad), Asia Pacific (Melbourne),
 * Europe (Spain), Europe (Zurich), Israel (Tel Aviv), Canada West (Calgary), Asia Pacific
 * (Malaysia), Asia Pacific (Thailand), Mexico (Central).
 */
export const API_GATEWAY_LOW_QUOTA_REGIONS = [
  'af-south-1',
  'eu-south-1',
  'ap-southeast-3',
  'me-central-1',
  'ap-south-2',
  'ap-southeast-4',
  'eu-south-2',
  'eu-central-2',
  'il-central-1',
  'ca-west-1',
  'ap-southeast-5',
  'ap-southeast-7',
  'mx-central-1',
] as const;

/** Quotas and limits (defaults; the account-level ones can be raised on request). */
export const AWS_LIMITS = {
  /**
   * Account-wide API Gateway throttle, steady rate per Region: every @connections call, every
   * $connect and client message, every other API of the account counts. 2,500 in the Regions of
   * API_GATEWAY_LOW_QUOTA_REGIONS; the deployed setting is infra/config.ts accountQuotaRatePerSecond.
   */
  apiGatewayAccountRatePerSecond: { value: 10_000, source: API_GATEWAY_QUOTAS },
  /** Account-wide API Gateway throttle, burst (token bucket size); 1,250 in API_GATEWAY_LOW_QUOTA_REGIONS. */
  apiGatewayAccountBurst: { value: 5_000, source: API_GATEWAY_QUOTAS },
  /** The account throttle's default rate in API_GATEWAY_LOW_QUOTA_REGIONS. */
  apiGatewayLowRegionAccountRatePerSecond: { value: 2_500, source: API_GATEWAY_QUOTAS },
  /** ... and its burst there. */
  apiGatewayLowRegionAccountBurst: { value: 1_250, source: API_GATEWAY_QUOTAS },
  /** New WebSocket connections per second per account and Region. */
  webSocketNewConnectionsPerSecond: { value: 500, source: API_GATEWAY_WEBSOCKET_QUOTAS },
  /** WebSocket message payload size. */
  webSocketMessageBytes: { value: 128 * 1024, source: API_GATEWAY_WEBSOCKET_QUOTAS },
  /** WebSocket frame size. */
  webSocketFrameBytes: { value: 32 * 1024, source: API_GATEWAY_WEBSOCKET_QUOTAS },
  /** Idle connection timeout. */
  webSocketIdleTimeoutSeconds: { value: 10 * 60, source: API_GATEWAY_WEBSOCKET_QUOTAS },
  /** Maximum connection duration. */
  webSocketMaxConnectionSeconds: { value: 2 * 60 * 60, source: API_GATEWAY_WEBSOCKET_QUOTAS },
  /** API Gateway integration timeout ($connect and other routes). */
  apiGatewayIntegrationTimeoutSeconds: { value: 29, source: API_GATEWAY_WEBSOCKET_QUOTAS },
  /** Step Functions state input/output payload. */
  stepFunctionsPayloadBytes: { value: 256 * 1024, source: STEP_FUNCTIONS_QUOTAS },
  /** One Step Functions API request, headers and body together ("Maximum request size: 1 MB per request"); the local API bounds the body by it. */
  stepFunctionsApiRequestBytes: { value: 1024 * 1024, source: STEP_FUNCTIONS_QUOTAS },
  /** Events in one Standard execution's history (a redrive continues the same history). */
  stepFunctionsHistoryEvents: { value: 25_000, source: STEP_FUNCTIONS_QUOTAS },
  /** Iterations an inline Map state runs at once: the fleet coordinator starts its cells from one (client/fleet.ts MAX_FLEET_CELLS). */
  stepFunctionsInlineMapConcurrency: {
    value: 40,
    source: 'https://docs.aws.amazon.com/step-functions/latest/dg/state-map-inline.html',
  },
  /** Distributed Map child executions running at once. */
  distributedMapMaxConcurrency: { value: 10_000, source: STEP_FUNCTIONS_QUOTAS },
  /** SQS message size. */
  sqsMessageBytes: { value: 1024 * 1024, source: SQS_QUOTAS },
  /** SQS SendMessageBatch entries. */
  sqsBatchEntries: { value: 10, source: SQS_QUOTAS },
  /** Lambda environment variables, all together. */
  lambdaEnvironmentBytes: { value: 4 * 1024, source: LAMBDA_QUOTAS },
  /** Lambda SQS event source MaximumConcurrency range. */
  lambdaSqsMaximumConcurrencyMin: { value: 2, source: LAMBDA_QUOTAS },
  lambdaSqsMaximumConcurrencyMax: { value: 1_000, source: LAMBDA_QUOTAS },
  /** DynamoDB item size. */
  dynamoDbItemBytes: { value: 400 * 1024, source: DYNAMODB_QUOTAS },
  /** Write capacity one DynamoDB partition serves per second. */
  dynamoDbPartitionWcuPerSecond: { value: 1_000, source: DYNAMODB_QUOTAS },
  /** BatchWriteItem requests per call. */
  dynamoDbBatchWriteItems: { value: 25, source: DYNAMODB_QUOTAS },
  /** BatchGetItem keys per call. */
  dynamoDbBatchGetKeys: { value: 100, source: DYNAMODB_QUOTAS },
  /** Resources in one CloudFormation stack. */
  cloudFormationStackResources: { value: 500, source: CLOUDFORMATION_QUOTAS },
  /** Lambda concurrent executions per account and Region (every function together). */
  lambdaAccountConcurrency: { value: 1_000, source: LAMBDA_QUOTAS },
  /** An SQS event source starts with this many concurrent invocations once messages arrive (standard queues), then scales toward its MaximumConcurrency. */
  lambdaSqsInitialConcurrency: { value: 5, source: LAMBDA_SQS_SCALING },
  /** Lambda memory that buys one full vCPU (CPU grows in proportion to memory). */
  lambdaMemoryMbPerVcpu: { value: 1_769, source: LAMBDA_MEMORY },
  /** Values one metric may carry in one embedded-metric-format record (Powertools flushes the record when a metric reaches it). */
  emfValuesPerMetric: { value: 100, source: CLOUDWATCH_EMF },
} as const satisfies Record<string, AwsNumber>;

const API_GATEWAY_PRICING = 'https://aws.amazon.com/api-gateway/pricing/';
const LAMBDA_PRICING = 'https://aws.amazon.com/lambda/pricing/';
const SQS_PRICING = 'https://aws.amazon.com/sqs/pricing/';
const DYNAMODB_PRICING = 'https://aws.amazon.com/dynamodb/pricing/on-demand/';
const STEP_FUNCTIONS_PRICING = 'https://aws.amazon.com/step-functions/pricing/';

/** List prices in USD, us-east-1, first tier. */
export const AWS_PRICES_USD = {
  /** WebSocket messages, per million, each metered in 32 KB increments. */
  apiGatewayMessagesPerMillion: { value: 1.0, source: API_GATEWAY_PRICING },
  /** WebSocket connection minutes, per million. */
  apiGatewayConnectionMinutesPerMillion: { value: 0.25, source: API_GATEWAY_PRICING },
  /** Lambda compute on arm64, per GB-second. */
  lambdaArmGbSecond: { value: 0.0000133334, source: LAMBDA_PRICING },
  /** Lambda requests, per million. */
  lambdaRequestsPerMillion: { value: 0.2, source: LAMBDA_PRICING },
  /** SQS standard queue requests, per million (each 64 KB chunk of a payload is one request). */
  sqsRequestsPerMillion: { value: 0.4, source: SQS_PRICING },
  /** DynamoDB on-demand write request units, per million. */
  dynamoDbWriteUnitsPerMillion: { value: 0.625, source: DYNAMODB_PRICING },
  /** DynamoDB on-demand read request units, per million. */
  dynamoDbReadUnitsPerMillion: { value: 0.125, source: DYNAMODB_PRICING },
  /** Step Functions Standard state transitions, per thousand. */
  stepFunctionsTransitionsPerThousand: { value: 0.025, source: STEP_FUNCTIONS_PRICING },
} as const satisfies Record<string, AwsNumber>;

/** The units the prices above are metered in. */
export const AWS_BILLING_UNITS = {
  /** A WebSocket message is metered in increments of this size: a 128 KB message is 4 messages. */
  apiGatewayMessageBytes: { value: 32 * 1024, source: API_GATEWAY_PRICING },
  /** Each 64 KB chunk of an SQS request's payload is billed as one request. */
  sqsRequestChunkBytes: { value: 64 * 1024, source: SQS_PRICING },
  /** One write request unit writes an item of up to 1 KB (an UpdateItem is charged by the larger of the item before and after). */
  dynamoDbWriteUnitBytes: { value: 1024, source: DYNAMODB_PRICING },
  /** One read request unit reads up to 4 KB strongly consistent; a Query sums the sizes of the items it returns. */
  dynamoDbReadUnitBytes: { value: 4 * 1024, source: DYNAMODB_PRICING },
  /** An eventually consistent read (every GSI Query) costs this fraction of a strongly consistent one. */
  dynamoDbEventuallyConsistentReadFactor: { value: 0.5, source: DYNAMODB_PRICING },
} as const satisfies Record<string, AwsNumber>;

/** AWS's default account throttle in a Region: what accountQuotaRatePerSecond / accountQuotaBurst (infra/config.ts) should be there unless the quota was raised. */
export function defaultAccountQuota(region: string): { ratePerSecond: number; burst: number } {
  return (API_GATEWAY_LOW_QUOTA_REGIONS as readonly string[]).includes(region)
    ? {
        ratePerSecond: AWS_LIMITS.apiGatewayLowRegionAccountRatePerSecond.value,
        burst: AWS_LIMITS.apiGatewayLowRegionAccountBurst.value,
      }
    : {
        ratePerSecond: AWS_LIMITS.apiGatewayAccountRatePerSecond.value,
        burst: AWS_LIMITS.apiGatewayAccountBurst.value,
      };
}
