/**
 * The CloudWatch dashboard and alarms for watching broadcasts on AWS: deliveries and 429s against
 * the configured budget, post latency and budget wait, queue depth and age per shard, DLQs,
 * consumer concurrency, Map Run progress, the state machine's executions. Metrics of the handlers
 * come from functions/commons/helpers/metrics.ts.
 */
import { Duration } from 'aws-cdk-lib';
import {
  Alarm,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  MathExpression,
  Metric,
  TreatMissingData,
  type IMetric,
} from 'aws-cdk-lib/aws-cloudwatch';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { METRIC, METRIC_NAMESPACE, METRIC_SERVICE } from '#commons/contract';

export interface OperationsDashboardProps {
  dashboardName: string;
  deliveryRatePerSecond: number;
  alarmPeriod: Duration;
  /** Sustained throttling: 429s above `percentage` of the answers in `periods` consecutive alarm periods. */
  throttling: { percentage: number; periods: number };
  queues: readonly Queue[];
  deadLetterQueues: readonly Queue[];
  consumer: IFunction;
  /** The Query task of each Map child (query-partitions). */
  fanOut: IFunction;
  stateMachine: StateMachine;
}

/** CloudWatch metric math takes at most 10 metrics per expression: one DLQ alarm per group of 10 shards. */
const METRICS_PER_EXPRESSION = 10;

export class OperationsDashboard extends Construct {
  readonly dashboard: Dashboard;
  readonly alarms: Alarm[] = [];

  constructor(scope: Construct, id: string, props: OperationsDashboardProps) {
    super(scope, id);
    const minute = Duration.minutes(1);
    const swarmcast = (metricName: string, statistic = 'Sum', period = minute): Metric =>
      new Metric({
        namespace: METRIC_NAMESPACE,
        metricName,
        dimensionsMap: { service: METRIC_SERVICE },
        statistic,
        period,
        label: statistic === 'Sum' ? undefined : `${metricName} ${statistic}`,
      });
    /** 429s in percent of all answers: the 429s plus every socket's final outcome. */
    const throttledShare = (period: Duration): MathExpression =>
      new MathExpression({
        expression: '100 * throttled / (throttled + delivered + gone + failed)',
        usingMetrics: {
          throttled: swarmcast(METRIC.postsThrottled, 'Sum', period),
          delivered: swarmcast(METRIC.postsDelivered, 'Sum', period),
          gone: swarmcast(METRIC.postsGone, 'Sum', period),
          failed: swarmcast(METRIC.postsFailed, 'Sum', period),
        },
        label: '429s, % of answers',
        period,
      });
    // Step Functions publishes no per-Map-Run item counts to CloudWatch (those are DescribeMapRun's,
    // the console's Map Run page and `swarmcast status`); AWS/States has the account's open and
    // backlogged Map Runs, with no dimension: "Map Run Metrics" in
    // https://docs.aws.amazon.com/step-functions/latest/dg/procedure-cw-metrics.html#resource-count-metrics-map-run
    const mapRuns = (metricName: string): Metric =>
      new Metric({ namespace: 'AWS/States', metricName, statistic: 'Maximum', period: minute });
    // Ids must differ between the expressions of one graph.
    const perSecond = (metricName: string, label: string): MathExpression => {
      const id = metricName.toLowerCase();
      return new MathExpression({
        expression: `${id} / PERIOD(${id})`,
        usingMetrics: { [id]: swarmcast(metricName) },
        label,
        period: minute,
      });
    };

    this.dashboard = new Dashboard(this, 'Dashboard', { dashboardName: props.dashboardName });
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Posts per second against the delivery budget',
        left: [
          perSecond(METRIC.postsDelivered, 'delivered/s'),
          perSecond(METRIC.postsGone, 'gone/s'),
          perSecond(METRIC.postsFailed, 'failed/s'),
          perSecond(METRIC.postsThrottled, '429s/s'),
        ],
        leftAnnotations: [{ value: props.deliveryRatePerSecond, label: 'deliveryRatePerSecond' }],
        width: 12,
      }),
      new GraphWidget({
        title: 'Consumer concurrency (post-message)',
        left: [props.consumer.metric('ConcurrentExecutions', { statistic: 'Maximum', period: minute })],
        width: 12,
      }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: '429 answers, % of all answers',
        left: [throttledShare(minute)],
        leftAnnotations: [
          {
            value: props.throttling.percentage,
            label: `alarm above ${props.throttling.percentage} % for ${props.throttling.periods} periods`,
          },
        ],
        width: 8,
      }),
      new GraphWidget({
        title: 'Post latency (ms, per @connections call)',
        left: ['p50', 'p90', 'p99', 'Maximum'].map((statistic) => swarmcast(METRIC.postLatency, statistic)),
        width: 8,
      }),
      new GraphWidget({
        title: 'Budget wait (ms, per granted call)',
        left: ['p50', 'p99', 'Maximum'].map((statistic) => swarmcast(METRIC.budgetWait, statistic)),
        width: 8,
      }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Messages visible per shard',
        left: props.queues.map((queue) => queue.metricApproximateNumberOfMessagesVisible({ period: minute })),
        width: 8,
      }),
      new GraphWidget({
        title: 'Age of oldest message per shard',
        left: props.queues.map((queue) => queue.metricApproximateAgeOfOldestMessage({ period: minute })),
        width: 8,
      }),
      new GraphWidget({
        title: 'Messages on the DLQs',
        left: props.deadLetterQueues.map((queue) => queue.metricApproximateNumberOfMessagesVisible({ period: minute })),
        width: 8,
      }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Broadcasts (state machine executions)',
        left: [
          props.stateMachine.metricStarted({ period: minute }),
          props.stateMachine.metricSucceeded({ period: minute }),
          props.stateMachine.metricFailed({ period: minute }),
          props.stateMachine.metricTimedOut({ period: minute }),
        ],
        width: 12,
      }),
      new GraphWidget({
        title: 'Map Run progress: partitions fanned out, Map children (Query task) run and failed',
        left: [
          swarmcast(METRIC.partitionsFannedOut),
          props.fanOut.metricInvocations({ period: minute, label: 'Query task invocations' }),
          props.fanOut.metricErrors({ period: minute, label: 'Query task errors' }),
        ],
        right: [mapRuns('ApproximateOpenMapRunCount'), mapRuns('ApproximateMapRunBacklogSize')],
        width: 12,
      }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Connections enqueued and connects',
        left: [swarmcast(METRIC.connectionsEnqueued), swarmcast(METRIC.connects)],
        width: 12,
      }),
    );

    const alarmWhenAny = (id: string, description: string, metric: IMetric): void => {
      this.alarms.push(
        new Alarm(this, id, {
          alarmDescription: description,
          metric,
          threshold: 1,
          evaluationPeriods: 1,
          comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          treatMissingData: TreatMissingData.NOT_BREACHING,
        }),
      );
    };
    for (let first = 0; first < props.deadLetterQueues.length; first += METRICS_PER_EXPRESSION) {
      const group = props.deadLetterQueues.slice(first, first + METRICS_PER_EXPRESSION);
      const usingMetrics = Object.fromEntries(
        group.map((queue, i) => [
          `dlq${i}`,
          queue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period: props.alarmPeriod }),
        ]),
      );
      alarmWhenAny(
        `DeadLetters${first}`,
        `A message reached DLQ ${first}-${first + group.length - 1} (shard order, the last DLQ is the sweep schedule's): not all its connections were delivered (docs/operations.md: Watching a broadcast on AWS).`,
        new MathExpression({
          expression: Object.keys(usingMetrics).join(' + '),
          usingMetrics,
          period: props.alarmPeriod,
          label: 'messages on the DLQs',
        }),
      );
    }
    this.alarms.push(
      new Alarm(this, 'SustainedThrottling', {
        alarmDescription: `429s above ${props.throttling.percentage} % of the @connections answers for ${props.throttling.periods} periods: the account's API Gateway quota is shared or deliveryRatePerSecond is above it (docs/operations.md: Watching a broadcast on AWS).`,
        metric: throttledShare(props.alarmPeriod),
        threshold: props.throttling.percentage,
        evaluationPeriods: props.throttling.periods,
        datapointsToAlarm: props.throttling.periods,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      }),
    );
    alarmWhenAny(
      'FailedBroadcasts',
      'A broadcast execution failed or timed out (docs/operations.md: Watching a broadcast on AWS).',
      new MathExpression({
        expression: 'failed + timedOut',
        usingMetrics: {
          failed: props.stateMachine.metricFailed({ period: props.alarmPeriod }),
          timedOut: props.stateMachine.metricTimedOut({ period: props.alarmPeriod }),
        },
        period: props.alarmPeriod,
        label: 'failed or timed-out broadcasts',
      }),
    );
  }
}
