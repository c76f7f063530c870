/**
 * ItemBatcher: cuts the items into the inputs of the child executions, `{Items, BatchInput}`,
 * bounded by MaxItemsPerBatch and MaxInputBytesPerBatch (whichever is reached first).
 */
export interface BatchLimits {
  maxItems?: number;
  maxInputBytes?: number;
  batchInput?: unknown;
}

export interface Batch {
  input: { Items: unknown[]; BatchInput?: unknown };
  itemCount: number;
}

const byteLength = (value: unknown): number => Buffer.byteLength(JSON.stringify(value));

export function cutBatches(
  items: unknown[],
  { maxItems = Infinity, maxInputBytes = Infinity, batchInput }: BatchLimits,
): Batch[] {
  const withBatchInput = (batch: unknown[]) =>
    batchInput === undefined ? { Items: batch } : { Items: batch, BatchInput: batchInput };
  const batches: Batch[] = [];
  let current: unknown[] = [];
  for (const item of items) {
    const grown = [...current, item];
    // A batch holds at least one item, even one bigger than the byte limit (the child then fails on AWS too).
    if (current.length > 0 && (grown.length > maxItems || byteLength(withBatchInput(grown)) > maxInputBytes)) {
      batches.push({ input: withBatchInput(current), itemCount: current.length });
      current = [item];
    } else {
      current = grown;
    }
  }
  if (current.length > 0) batches.push({ input: withBatchInput(current), itemCount: current.length });
  return batches;
}
