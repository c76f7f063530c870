// Integration tests start real services and real sockets: give each test room on a loaded 2-core machine.
jest.setTimeout(120_000);
