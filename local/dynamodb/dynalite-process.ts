/** Child entry: dynalite on 127.0.0.1 (see child-server.ts). argv[2]: {dataDir?, port?}: a restart takes the port it had. */
import dynalite from 'dynalite';
import { serveFromChild } from '../child-server';

const { dataDir, port = 0 } = JSON.parse(process.argv[2] ?? '{}') as { dataDir?: string; port?: number };

// Tables are ACTIVE at once: the local stack should not wait the 500 ms default per table.
serveFromChild(dynalite({ path: dataDir, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 }), port);
