/** Fault injection for the local DynamoDB and SQS: tests make chosen requests fail with AWS errors. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { KEEP_ALIVE_TIMEOUT_MS } from './child-server';

/** An AWS JSON-protocol error to answer with instead of forwarding the request. */
export interface InjectedFault {
  statusCode: number;
  /** The error code, e.g. "AccessDeniedException". */
  errorType: string;
  message: string;
}

/** Decides per request: `operation` is the X-Amz-Target operation name (e.g. "Query"), `input` its JSON body. */
export type FaultRule = (operation: string, input: Record<string, unknown>) => InjectedFault | undefined;

export interface FaultProxy {
  endpoint: string;
  stop(): Promise<void>;
}

/**
 * A loopback proxy in front of a local AWS JSON-protocol service (DynamoDB, SQS) that
 * answers chosen requests with an AWS error instead of forwarding them. The local stack
 * puts it between the handlers and a service when asked, so tests can make one partition's
 * Query fail the way a real outage or a permissions slip would, through the real SDK.
 */
export async function startFaultProxy(targetEndpoint: string, rule: FaultRule): Promise<FaultProxy> {
  const target = new URL(targetEndpoint);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks);
      const operation =
        String(request.headers['x-amz-target'] ?? '')
          .split('.')
          .pop() ?? '';
      let input: Record<string, unknown> = {};
      try {
        input = JSON.parse(body.toString('utf8') || '{}');
      } catch {
        // not JSON: forwarded untouched
      }
      const fault = rule(operation, input);
      if (fault) {
        response.writeHead(fault.statusCode, {
          'Content-Type': 'application/x-amz-json-1.0',
          'x-amzn-ErrorType': fault.errorType,
        });
        response.end(JSON.stringify({ __type: fault.errorType, message: fault.message }));
        return;
      }
      const upstream = http.request(
        {
          host: target.hostname,
          port: target.port,
          method: request.method,
          path: request.url,
          headers: request.headers,
          agent,
        },
        (upstreamResponse) => {
          response.writeHead(upstreamResponse.statusCode ?? 502, upstreamResponse.headers);
          upstreamResponse.pipe(response);
        },
      );
      upstream.on('error', (error) => {
        response.writeHead(502);
        response.end(String(error));
      });
      upstream.end(body);
    });
  });
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      agent.destroy();
    },
  };
}
