/** The 32 KB frame bound on what clients send: frames built by ws's own Sender, as a client masks them, read in any split. */
import WebSocket from 'ws';
import { FrameSizeWatch } from '../../../../local/gateway/frame-size';

/** ws exports the Sender that frames what its clients send; @types/ws does not describe it. */
const { Sender } = WebSocket as unknown as {
  Sender: {
    frame(
      data: Buffer,
      options: { fin: boolean; mask: boolean; opcode: number; readOnly: boolean; rsv1: boolean },
    ): Buffer[];
  };
};

const LIMIT = 32 * 1024;

/** One masked client frame, header and payload in one buffer. */
function clientFrame(payloadBytes: number, { opcode = 1, fin = true } = {}): Buffer {
  const parts = Sender.frame(Buffer.alloc(payloadBytes, 0x61), {
    fin,
    mask: true,
    opcode,
    readOnly: false,
    rsv1: false,
  });
  return Buffer.concat(parts);
}

/** Feeds `bytes` in pieces of `pieceBytes`; the first over-limit length reported, if any. */
function readInPieces(watch: FrameSizeWatch, bytes: Buffer, pieceBytes: number): number | undefined {
  for (let offset = 0; offset < bytes.length; offset += pieceBytes) {
    const found = watch.read(bytes.subarray(offset, offset + pieceBytes));
    if (found !== undefined) return found;
  }
  return undefined;
}

describe('FrameSizeWatch', () => {
  // 125 and 126 cross the 7-bit and 16-bit length forms; the 64-bit form is in the over-limit cases.
  const withinLimit = [0, 1, 125, 126, 20_000, LIMIT];

  it.each([1, 2, 3, 7, 1000, 1 << 20])(
    'lets frames of up to 32 KB through, read in pieces of %i bytes',
    (pieceBytes) => {
      const stream = Buffer.concat([
        ...withinLimit.map((n) => clientFrame(n)),
        clientFrame(LIMIT, { fin: false }),
        clientFrame(LIMIT, { opcode: 0 }),
        clientFrame(4, { opcode: 9 }),
      ]);
      expect(readInPieces(new FrameSizeWatch(LIMIT), stream, pieceBytes)).toBeUndefined();
    },
  );

  it.each([
    ['one byte over, 16-bit length', LIMIT + 1],
    ['64 KB, 64-bit length', 65_536],
    ['a whole 128 KB message in one frame', 128 * 1024],
  ])('reports a frame over 32 KB (%s) after frames within it, in any split', (_name, payloadBytes) => {
    const stream = Buffer.concat([clientFrame(10), clientFrame(LIMIT), clientFrame(payloadBytes), clientFrame(10)]);
    for (const pieceBytes of [1, 5, 4096, stream.length]) {
      expect(readInPieces(new FrameSizeWatch(LIMIT), stream, pieceBytes)).toBe(payloadBytes);
    }
  });

  it('reports the oversized frame as soon as its header is read, before its payload', () => {
    const frame = clientFrame(LIMIT + 1);
    const headerBytes = 2 + 2 + 4; // 16-bit length and mask key
    const watch = new FrameSizeWatch(LIMIT);
    expect(watch.read(frame.subarray(0, headerBytes - 1))).toBeUndefined();
    expect(watch.read(frame.subarray(headerBytes - 1, headerBytes))).toBe(LIMIT + 1);
  });
});
