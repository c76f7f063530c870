/** The local ItemBatcher: batches close at MaxItemsPerBatch or MaxInputBytesPerBatch, whichever comes first. */
import { cutBatches } from '../../../../local/stepfunctions/item-batches';

const items = (n: number) => Array.from({ length: n }, (_, i) => ({ partition: i }));

describe('cutBatches', () => {
  it('cuts at MaxItemsPerBatch, the last batch taking the rest', () => {
    expect(cutBatches(items(5), { maxItems: 2 }).map((batch) => batch.itemCount)).toEqual([2, 2, 1]);
  });

  it('cuts before the batch input (BatchInput included) would pass MaxInputBytesPerBatch', () => {
    const limit = Buffer.byteLength(JSON.stringify({ Items: items(2), BatchInput: { b: 1 } }));
    const batches = cutBatches(items(5), { maxInputBytes: limit, batchInput: { b: 1 } });
    expect(batches.map((batch) => batch.itemCount)).toEqual([2, 2, 1]);
    for (const batch of batches) expect(Buffer.byteLength(JSON.stringify(batch.input))).toBeLessThanOrEqual(limit);
    expect(batches[0].input).toEqual({ Items: items(2), BatchInput: { b: 1 } });
  });

  it('keeps an item bigger than the byte limit as a batch of its own', () => {
    expect(
      cutBatches([{ big: 'x'.repeat(100) }, { small: 1 }], { maxInputBytes: 50 }).map((batch) => batch.itemCount),
    ).toEqual([1, 1]);
  });

  it('puts every item in one batch without limits, and no batch for no items', () => {
    expect(cutBatches(items(3), {})).toEqual([{ input: { Items: items(3) }, itemCount: 3 }]);
    expect(cutBatches([], { maxItems: 2 })).toEqual([]);
  });
});
