/**
 * The CloudWatch dashboard and alarms for watching broadcasts on AWS: deliveries against the
 * configured budget, queue depth and age per shard, DLQs, consumer concurrency, the state
 * machine's executions. Metrics of the handlers come from functions/commons/helpers/metrics.ts.
 */
import { Duration } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, Dashboard, GraphWidget, MathExpression, Metric, TreatMissingData, type IMetric } from 'aws-cdk-lib/aws-cloudwatch';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

export interface OperationsDashboardProps {
  dashboardName: string;
  deliveryRatePerSecond: number;
  alarmPeriod: Duration;
  queues: readonly Queue[];
  deadLetterQueues: readonly Queue[];
  consumer: IFunction;
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
    const swarmcast = (metricName: string): Metric => new Metric({ namespace: 'Swarmcast', metricName, dimensionsMap: { service: 'swarmcast' }, statistic: 'Sum', period: minute });
    // Ids must differ between the expressions of one graph.
    const perSecond = (metricName: string, label: string): MathExpression => {
      const id = metricName.toLowerCase();
      return new MathExpression({ expression: `${id} / PERIOD(${id})`, usingMetrics: { [id]: swarmcast(metricName) }, label, period: minute });
    };

    this.dashboard = new Dashboard(this, 'Dashboard', { dashboardName: props.dashboardName });
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Posts per second against the delivery budget',
        left: [perSecond('PostsDelivered', 'delivered/s'), perSecond('PostsGone', 'gone/s'), perSecond('PostsFailed', 'failed/s')],
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
      new GraphWidget({ title: 'Messages visible per shard', left: props.queues.map((queue) => queue.metricApproximateNumberOfMessagesVisible({ period: minute })), width: 8 }),
      new GraphWidget({ title: 'Age of oldest message per shard', left: props.queues.map((queue) => queue.metricApproximateAgeOfOldestMessage({ period: minute })), width: 8 }),
      new GraphWidget({ title: 'Messages on the DLQs', left: props.deadLetterQueues.map((queue) => queue.metricApproximateNumberOfMessagesVisible({ period: minute })), width: 8 }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Broadcasts (state machine executions)',
        left: [props.stateMachine.metricStarted({ period: minute }), props.stateMachine.metricSucceeded({ period: minute }), props.stateMachine.metricFailed({ period: minute }), props.stateMachine.metricTimedOut({ period: minute })],
        width: 12,
      }),
      new GraphWidget({
        title: 'Fan-out and connects',
        left: [swarmcast('PartitionsFannedOut'), swarmcast('ConnectionsEnqueued'), swarmcast('Connects')],
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
      const usingMetrics = Object.fromEntries(group.map((queue, i) => [`dlq${i}`, queue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period: props.alarmPeriod })]));
      alarmWhenAny(
        `DeadLetters${first}`,
        `A message reached DLQ ${first}-${first + group.length - 1} (shard order, the last DLQ is the sweep schedule's): not all its connections were delivered (README: Watching a broadcast on AWS).`,
        new MathExpression({ expression: Object.keys(usingMetrics).join(' + '), usingMetrics, period: props.alarmPeriod, label: 'messages on the DLQs' }),
      );
    }
    alarmWhenAny(
      'FailedBroadcasts',
      'A broadcast execution failed or timed out (README: Watching a broadcast on AWS).',
      new MathExpression({
        expression: 'failed + timedOut',
        usingMetrics: { failed: props.stateMachine.metricFailed({ period: props.alarmPeriod }), timedOut: props.stateMachine.metricTimedOut({ period: props.alarmPeriod }) },
        period: props.alarmPeriod,
        label: 'failed or timed-out broadcasts',
      }),
    );
  }
}
