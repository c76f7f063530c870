/** The CDK construct of swarmcast's DynamoDB tables, one per schema in functions/commons/tables.ts. */
import type { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, Billing, ProjectionType, TableV2, type Attribute } from 'aws-cdk-lib/aws-dynamodb';
import type { Construct } from 'constructs';
import type { KeyAttribute, TableSchema } from '#commons/tables';

export interface SchemaTableProps {
  /** Continuous backups; off by default because connection rows live at most two hours. */
  pointInTimeRecovery?: boolean;
  removalPolicy?: RemovalPolicy;
}

/**
 * A DynamoDB table built from one of the TableSchema objects in functions/commons/tables.ts,
 * the schemas the local stack builds its tables from too: keys, TTL and indexes are declared once.
 */
export class SchemaTable extends TableV2 {
  constructor(scope: Construct, schema: TableSchema, props: SchemaTableProps = {}) {
    super(scope, schema.logicalName, {
      partitionKey: attribute(schema.partitionKey),
      sortKey: schema.sortKey && attribute(schema.sortKey),
      // On-demand: a broadcast is a burst of reads and counter writes, idle in between.
      billing: Billing.onDemand(),
      timeToLiveAttribute: schema.timeToLiveAttribute,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: props.pointInTimeRecovery ?? false },
      removalPolicy: props.removalPolicy,
      globalSecondaryIndexes: schema.globalSecondaryIndexes.map((index) => ({
        indexName: index.indexName,
        partitionKey: attribute(index.partitionKey),
        sortKey: index.sortKey && attribute(index.sortKey),
        // INCLUDE keeps index items small: a partition Query reads ids and expiry, nothing else.
        ...(index.nonKeyAttributes.length > 0
          ? { projectionType: ProjectionType.INCLUDE, nonKeyAttributes: index.nonKeyAttributes }
          : { projectionType: ProjectionType.KEYS_ONLY }),
      })),
    });
  }
}

function attribute(key: KeyAttribute): Attribute {
  return { name: key.name, type: key.type === 'S' ? AttributeType.STRING : AttributeType.NUMBER };
}
