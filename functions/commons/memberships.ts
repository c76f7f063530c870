/**
 * Channel memberships in DynamoDB: the Subscriptions items a channel broadcast reads, and the
 * `channels` set on each Connections row that says which of them a socket has, so $disconnect, a
 * 410 and the sweep delete exactly those (docs/channels.md).
 *
 * No TransactWriteItems: it costs two writes per item and the local twin's DynamoDB (dynalite)
 * has none. Instead the writes keep one order: a channel joins the row's set before its item is
 * written and leaves it after its item is deleted, so every membership item is named on its row
 * (a crash in between leaves a name without an item, which costs one DeleteItem later, never a
 * member nobody deletes). The TTL, equal to the row's, catches what a lost $disconnect leaves.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { channelPartitionKey, channelPartitionOf, firstDisallowed } from '#commons/channels';
import { dynamoDb } from '#commons/clients/dynamodb';
import { partitionOf } from '#commons/partitions';
import { connectionsTable, subscriptionsTable } from '#commons/tables';

const CHANNEL_PARTITION = subscriptionsTable.partitionKey.name;
const CONNECTION_ID = subscriptionsTable.sortKey.name;
const EXPIRES_AT = subscriptionsTable.timeToLiveAttribute;
const ROW_PARTITION = connectionsTable.partitionKey.name;
/** The Connections row's attributes for channels: the set the socket is in, and the authorizer's patterns. */
export const ROW_CHANNELS = 'channels';
export const ROW_ALLOWED_CHANNELS = 'allowedChannels';

/** Where memberships live and how a channel's members are spread. */
export interface MembershipTables {
  subscriptions: string;
  channelPartitions: number;
}

const membershipKey = (connectionId: string, channel: string, channelPartitions: number) => ({
  [CHANNEL_PARTITION]: channelPartitionKey(channel, channelPartitionOf(connectionId, channelPartitions)),
  [CONNECTION_ID]: connectionId,
});

/** One item per channel, with the row's expiry. */
export async function writeMemberships(
  tables: MembershipTables,
  connectionId: string,
  channels: readonly string[],
  expiresAt: number,
): Promise<void> {
  await Promise.all(
    channels.map((channel) =>
      dynamoDb.send(
        new PutCommand({
          TableName: tables.subscriptions,
          Item: { ...membershipKey(connectionId, channel, tables.channelPartitions), [EXPIRES_AT]: expiresAt },
        }),
      ),
    ),
  );
}

/** Deletes the socket's items of these channels (an item already gone is no error). */
export async function deleteMemberships(
  tables: MembershipTables,
  connectionId: string,
  channels: Iterable<string>,
): Promise<void> {
  await Promise.all(
    [...channels].map((channel) =>
      dynamoDb.send(
        new DeleteCommand({
          TableName: tables.subscriptions,
          Key: membershipKey(connectionId, channel, tables.channelPartitions),
        }),
      ),
    ),
  );
}

/** What a subscribe or unsubscribe answered; `error` says what was wrong and what is allowed. */
export type SubscriptionOutcome = { ok: true } | { ok: false; error: string };

export interface SubscriptionSettings {
  connections: string;
  memberships: MembershipTables;
  partitionCount: number;
  maxChannelsPerConnection: number;
}

/**
 * Adds the channel to the row's set (only if the row exists and the channel is in it already or
 * the set has room, checked by DynamoDB so two subscribes at once cannot pass the maximum), then
 * writes the membership with the row's expiry. Subscribing twice is ok and changes nothing.
 */
export async function subscribe(
  settings: SubscriptionSettings,
  connectionId: string,
  channel: string,
): Promise<SubscriptionOutcome> {
  const key = rowKey(connectionId, settings.partitionCount);
  const row = await dynamoDb.send(
    new GetCommand({
      TableName: settings.connections,
      Key: key,
      ConsistentRead: true,
      ProjectionExpression: `${ROW_ALLOWED_CHANNELS}`,
    }),
  );
  if (!row.Item) return { ok: false, error: 'this connection is not registered (it is closing, or expired)' };
  const allowed = row.Item[ROW_ALLOWED_CHANNELS] as string[] | undefined;
  if (firstDisallowed([channel], allowed) !== undefined) {
    return { ok: false, error: `the authorizer does not let this connection join "${channel}"` };
  }
  let expiresAt: number;
  try {
    const updated = await dynamoDb.send(
      new UpdateCommand({
        TableName: settings.connections,
        Key: key,
        UpdateExpression: 'ADD #channels :channel',
        ConditionExpression:
          'attribute_exists(#id) AND (attribute_not_exists(#channels) OR contains(#channels, :name) OR size(#channels) < :max)',
        ExpressionAttributeNames: { '#channels': ROW_CHANNELS, '#id': CONNECTION_ID },
        ExpressionAttributeValues: {
          ':channel': new Set([channel]),
          ':name': channel,
          ':max': settings.maxChannelsPerConnection,
        },
        ReturnValues: 'ALL_NEW',
      }),
    );
    expiresAt = updated.Attributes?.[connectionsTable.timeToLiveAttribute] as number;
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
    return {
      ok: false,
      error: `this connection is in ${settings.maxChannelsPerConnection} channels already, the most one may be in; unsubscribe from one first`,
    };
  }
  await writeMemberships(settings.memberships, connectionId, [channel], expiresAt);
  return { ok: true };
}

/** Deletes the membership, then takes the channel out of the row's set. Unsubscribing from a channel one is not in is ok. */
export async function unsubscribe(
  settings: SubscriptionSettings,
  connectionId: string,
  channel: string,
): Promise<SubscriptionOutcome> {
  await deleteMemberships(settings.memberships, connectionId, [channel]);
  try {
    await dynamoDb.send(
      new UpdateCommand({
        TableName: settings.connections,
        Key: rowKey(connectionId, settings.partitionCount),
        UpdateExpression: 'DELETE #channels :channel',
        ConditionExpression: 'attribute_exists(#id)',
        ExpressionAttributeNames: { '#channels': ROW_CHANNELS, '#id': CONNECTION_ID },
        ExpressionAttributeValues: { ':channel': new Set([channel]) },
      }),
    );
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
    return { ok: false, error: 'this connection is not registered (it is closing, or expired)' };
  }
  return { ok: true };
}

/** The channels a deleted row named (DeleteItem's ALL_OLD), none for a row without any. */
export function channelsOf(oldRow: Record<string, unknown> | undefined): string[] {
  const channels = oldRow?.[ROW_CHANNELS];
  return channels instanceof Set ? [...(channels as Set<string>)] : [];
}

export interface ChannelPartitionMembers {
  live: string[];
  expired: string[];
}

/**
 * All connection ids of one partition of a channel, page by page, with consistent reads: a socket
 * that joined before this Query is in it, one that joins after is not (docs/channels.md, "once or
 * not at all"). Items past their TTL are split out, as in queryPartition.
 */
export async function queryChannelPartition(
  subscriptionsTableName: string,
  channel: string,
  partition: number,
  nowSeconds = Math.floor(Date.now() / 1000),
): Promise<ChannelPartitionMembers> {
  const result: ChannelPartitionMembers = { live: [], expired: [] };
  let ExclusiveStartKey: Record<string, unknown> | undefined;
  do {
    const page = await dynamoDb.send(
      new QueryCommand({
        TableName: subscriptionsTableName,
        KeyConditionExpression: '#p = :key',
        ExpressionAttributeNames: { '#p': CHANNEL_PARTITION, '#id': CONNECTION_ID, '#exp': EXPIRES_AT },
        ExpressionAttributeValues: { ':key': channelPartitionKey(channel, partition) },
        ProjectionExpression: '#id, #exp',
        ConsistentRead: true,
        ExclusiveStartKey,
      }),
    );
    for (const item of page.Items ?? []) {
      const expiresAt = item[EXPIRES_AT] as number | undefined;
      (expiresAt !== undefined && expiresAt < nowSeconds ? result.expired : result.live).push(
        item[CONNECTION_ID] as string,
      );
    }
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  return result;
}

const rowKey = (connectionId: string, partitionCount: number) => ({
  [ROW_PARTITION]: partitionOf(connectionId, partitionCount),
  [connectionsTable.sortKey.name]: connectionId,
});
