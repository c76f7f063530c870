/**
 * One server process of the floor (bench/floor.ts) for the sockets past the bench process's
 * share: a FloorServer on the floor's port (SO_REUSEPORT), driven over IPC.
 */
import { FloorServer, type FloorServerCommand, type FloorServerReport } from './floor';

let server: FloorServer | undefined;
const send = (report: FloorServerReport) => process.send?.(report);

process.on('message', async (command: FloorServerCommand) => {
  switch (command.type) {
    case 'listen':
      server = await FloorServer.listen(command.port);
      send({ type: 'listening', rssBytes: server.rssBytes() });
      break;
    case 'measure':
      send({ type: 'measured', sockets: server?.sockets ?? 0, rssBytes: server?.rssBytes() ?? 0 });
      break;
    case 'broadcast':
      server?.broadcast(command.message);
      break;
    case 'close':
      await server?.close();
      send({ type: 'closed' });
      break;
  }
});
process.on('disconnect', () => process.exit(0));
