// Integration tests start real services and real sockets: give each test room on a loaded 2-core machine.
jest.setTimeout(120_000);
// Some tests fail partitions on purpose; the handlers' error logs would only be noise here.
process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
