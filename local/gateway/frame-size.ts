/**
 * API Gateway's 32 KB frame quota for what clients send: a message may be up to 128 KB, but only
 * in frames of 32 KB or less; a larger frame closes the connection with 1009. `ws` bounds whole
 * messages only, so this follows the frame headers of a client's byte stream itself.
 */

/**
 * Reads just the frame headers (RFC 6455 §5.2) of one client's bytes, skipping the payloads, and
 * tells the first frame whose payload is over the limit. Bytes may arrive split anywhere.
 */
export class FrameSizeWatch {
  /** A header is at most 2 bytes, 8 of extended length and 4 of mask key. */
  private readonly header = Buffer.alloc(14);
  private headerBytes = 0;
  private payloadBytesLeft = 0;

  constructor(private readonly maxFrameBytes: number) {}

  /** The payload length of the first frame in `chunk` over the limit, or undefined if none is. */
  read(chunk: Buffer): number | undefined {
    let offset = 0;
    while (offset < chunk.length) {
      if (this.payloadBytesLeft > 0) {
        const skipped = Math.min(this.payloadBytesLeft, chunk.length - offset);
        this.payloadBytesLeft -= skipped;
        offset += skipped;
        continue;
      }
      this.header[this.headerBytes++] = chunk[offset++];
      const payloadLength = this.completeHeaderPayloadLength();
      if (payloadLength === undefined) continue;
      this.headerBytes = 0;
      this.payloadBytesLeft = payloadLength;
      if (payloadLength > this.maxFrameBytes) return payloadLength;
    }
    return undefined;
  }

  /** The payload length once the header read so far is whole; undefined while bytes are missing. */
  private completeHeaderPayloadLength(): number | undefined {
    if (this.headerBytes < 2) return undefined;
    const masked = (this.header[1] & 0x80) !== 0;
    const shortLength = this.header[1] & 0x7f;
    const extendedBytes = shortLength === 126 ? 2 : shortLength === 127 ? 8 : 0;
    if (this.headerBytes < 2 + extendedBytes + (masked ? 4 : 0)) return undefined;
    if (shortLength === 126) return this.header.readUInt16BE(2);
    if (shortLength === 127) return Number(this.header.readBigUInt64BE(2));
    return shortLength;
  }
}
