import { BatchGetCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { lessLoaded, twoRandomPartitions } from '#commons/partitions';
import { choosePartition } from '#commons/partitions';

const dynamo = mockClient(DynamoDBDocumentClient);
beforeEach(() => dynamo.reset());

describe('partition choice: the better of two random choices', () => {
  it('keeps the largest of 2,500 partitions within 1.25x of the mean over 100,000 connects', () => {
    // prepare: a seeded generator keeps the run repeatable
    let seed = 42;
    const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    const partitionCount = 2_500;
    const counts = new Map<number, number>();

    // act
    for (let i = 0; i < 100_000; i++) {
      const chosen = lessLoaded(twoRandomPartitions(partitionCount, random), counts, random);
      counts.set(chosen, (counts.get(chosen) ?? 0) + 1);
    }

    // assess
    const mean = 100_000 / partitionCount;
    const largest = Math.max(...counts.values());
    const smallest = Math.min(...Array.from({ length: partitionCount }, (_, p) => counts.get(p) ?? 0));
    expect(largest / mean).toBeLessThanOrEqual(1.25);
    expect(smallest).toBeGreaterThan(0);
  });

  it('a single random choice would not meet the bar (the test can tell the difference)', () => {
    let seed = 7;
    const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    const counts = new Map<number, number>();
    for (let i = 0; i < 100_000; i++) {
      const chosen = Math.floor(random() * 2_500);
      counts.set(chosen, (counts.get(chosen) ?? 0) + 1);
    }
    expect(Math.max(...counts.values()) / 40).toBeGreaterThan(1.25);
  });

  it('always offers two distinct partitions', () => {
    for (let i = 0; i < 1_000; i++) {
      const [a, b] = twoRandomPartitions(3);
      expect(a).not.toBe(b);
      expect([a, b].every((p) => p >= 0 && p < 3)).toBe(true);
    }
  });

  it('reads only the two candidate counters and picks the emptier one', async () => {
    dynamo.on(BatchGetCommand).callsFake((input) => {
      const keys = input.RequestItems.Partitions.Keys as { partition: number }[];
      return { Responses: { Partitions: keys.map(({ partition }, i) => ({ partition, connections: i === 0 ? 9 : 3 })) } };
    });
    const chosen = await choosePartition('Partitions', 2_500);
    const keys = dynamo.commandCalls(BatchGetCommand)[0].args[0].input.RequestItems!.Partitions.Keys!;
    expect(keys).toHaveLength(2);
    expect(chosen).toBe(keys[1].partition);
  });
});
