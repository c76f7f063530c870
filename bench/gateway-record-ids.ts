/** A $connect handler for benchmarks: accepts every socket and appends its id to RECORD_IDS_FILE. */
import { appendFileSync } from 'node:fs';

const file = process.env.RECORD_IDS_FILE!;

export const handler = async (event: { requestContext: { connectionId: string } }) => {
  appendFileSync(file, `${event.requestContext.connectionId}\n`);
  return { statusCode: 200 };
};
