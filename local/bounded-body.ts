/**
 * Reading a request body with a ceiling, for the local services that read whole bodies: a body
 * declared larger than the limit is refused before a byte of it is read, and one sent in chunks
 * stops being read once past the limit; what follows is dropped, up to a bound, then the connection is cut.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

export class BodyTooLargeError extends Error {
  override name = 'BodyTooLargeError';
  constructor(readonly limitBytes: number) {
    super(`the request body is over ${limitBytes.toLocaleString('en-US')} bytes, the most this API accepts`);
  }
}

/** True when Content-Length announces more than `limitBytes`: refuse before reading. */
export function declaredOver(request: IncomingMessage, limitBytes: number): boolean {
  const declared = request.headers['content-length'];
  return declared !== undefined && Number(declared) > limitBytes;
}

/** The whole body, or BodyTooLargeError as soon as more than `limitBytes` arrived (nothing more is read). */
export function readBoundedBody(request: IncomingMessage, limitBytes: number): Promise<Buffer> {
  if (declaredOver(request, limitBytes)) return Promise.reject(new BodyTooLargeError(limitBytes));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limitBytes) return void chunks.push(chunk);
      request.off('data', onData);
      request.pause();
      chunks.length = 0;
      reject(new BodyTooLargeError(limitBytes));
    };
    request.on('data', onData);
    request.once('end', () => resolve(Buffer.concat(chunks)));
    request.once('error', reject);
  });
}

/**
 * After an answer sent before the body was read to its end: the rest is read and dropped up to
 * `lingerBytes`, then the connection is cut. A client that sent its whole body still reads the
 * answer (and keeps its connection); one that streams on cannot make the server read forever.
 */
export function discardRestOfBody(response: ServerResponse, lingerBytes: number): void {
  response.once('finish', () => {
    const request = response.req;
    let discarded = 0;
    request.on('data', (chunk: Buffer) => {
      discarded += chunk.length;
      if (discarded > lingerBytes) request.socket.destroy();
    });
    request.resume();
  });
}
