/**
 * Keeps a gateway's port to its own workers. The workers share the port with SO_REUSEPORT,
 * which would just as well let a second gateway (another `swarmcast local`) join it and take
 * half of the clients and calls, answering 410 for connections it never had. So before its
 * workers listen, a gateway claims the port: an abstract Unix socket named after the address
 * (exclusive on the machine, released when the process dies) settles a race between two
 * gateways, and a bind without SO_REUSEPORT fails if anything at all already listens there.
 */
import net from 'node:net';

export class PortInUseError extends Error {
  override name = 'PortInUseError';
}

/** The held claim; release() when the gateway stops. */
export interface PortClaim {
  release(): void;
}

const inUse = (host: string, port: number) =>
  new PortInUseError(
    `port ${port} on ${host} is already in use (another swarmcast stack or another program listens there); choose another port`,
  );

/** Claims a port nothing listens on yet: the lock, then a probe that nothing else is bound there. */
export async function claimPort(host: string, port: number): Promise<PortClaim> {
  const lock = await lockPort(host, port);
  const probe = net.createServer();
  try {
    await listen(probe, { host, port, exclusive: true });
  } catch (error) {
    lock.release();
    throw (error as NodeJS.ErrnoException).code === 'EADDRINUSE' ? inUse(host, port) : error;
  }
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return lock;
}

/** Takes the machine-wide lock of host:port (for a port the kernel just picked, only the lock is needed). */
export async function lockPort(host: string, port: number): Promise<PortClaim> {
  const lock = net.createServer();
  await listen(lock, { path: `\0swarmcast-gateway-port-${host}:${port}` }).catch((error: NodeJS.ErrnoException) => {
    throw error.code === 'EADDRINUSE' ? inUse(host, port) : error;
  });
  return { release: () => lock.close() };
}

function listen(server: net.Server, options: net.ListenOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
