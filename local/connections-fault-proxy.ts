/** Fault injection for the local @connections API: tests make chosen sockets refuse posts. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** Decides per @connections request: an HTTP status to answer instead of forwarding (e.g. 403), or undefined. */
export type ConnectionsFaultRule = (method: string, connectionId: string) => number | undefined;

/**
 * A loopback proxy in front of the local @connections API that answers chosen calls with an
 * API Gateway error instead of forwarding them, so a test can make some sockets refuse posts
 * (403 ForbiddenException) the way a real API does, through the handlers' real HTTP client.
 */
export async function startConnectionsFaultProxy(
  targetEndpoint: string,
  rule: ConnectionsFaultRule,
): Promise<{ endpoint: string; stop(): Promise<void> }> {
  const target = new URL(targetEndpoint);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const server = http.createServer((request, response) => {
    const connectionId = decodeURIComponent(/\/@connections\/([^/?]+)/.exec(request.url ?? '')?.[1] ?? '');
    const status = rule(request.method ?? 'GET', connectionId);
    if (status !== undefined) {
      request.resume();
      response.writeHead(status, {
        'content-type': 'application/json',
        'x-amzn-errortype': status === 403 ? 'ForbiddenException' : 'InjectedFault',
      });
      response.end(JSON.stringify({ message: `injected: ${status} for ${connectionId}` }));
      return;
    }
    const forwarded = http.request(
      {
        host: target.hostname,
        port: target.port,
        path: request.url,
        method: request.method,
        headers: request.headers,
        agent,
      },
      (answer) => {
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(response);
      },
    );
    forwarded.on('error', () => {
      if (!response.headersSent) response.writeHead(502);
      response.end();
    });
    request.pipe(forwarded);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    // The stage path stays in the endpoint, as the SDK and the poster put it before /@connections.
    endpoint: `http://127.0.0.1:${port}${target.pathname.replace(/\/$/, '')}`,
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      agent.destroy();
    },
  };
}
