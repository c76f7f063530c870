/** A WebSocket for the client helper's unit tests: the test accepts, drops and speaks through each one. */
import type { WebSocketLike } from '../../../client/swarmcast-client';

/** A socket the test opens, closes and speaks through; every instance is kept in order. */
export class FakeSocket implements WebSocketLike {
  static all: FakeSocket[] = [];
  readyState = 0;
  sent: string[] = [];
  closedWith?: { code?: number; reason?: string };
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: { code: number; reason: string }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;

  constructor(readonly url: string) {
    FakeSocket.all.push(this);
  }
  send(data: string): void {
    this.sent.push(data);
  }
  close(code?: number, reason?: string): void {
    this.closedWith = { code, reason };
    this.readyState = 3;
  }
  /** The server accepts the handshake. */
  accept(): void {
    this.readyState = 1;
    this.onopen?.({});
  }
  /** The server or the network ends the socket (or refuses the handshake). */
  drop(code = 1006): void {
    this.readyState = 3;
    this.onerror?.({});
    this.onclose?.({ code, reason: '' });
  }
  deliver(data: string): void {
    this.onmessage?.({ data });
  }
}
