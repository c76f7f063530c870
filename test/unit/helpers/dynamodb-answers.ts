/**
 * DynamoDB mocks that answer only what the request asked for, as DynamoDB does: a mock that
 * returns `Attributes` whatever was asked hides a missing `ReturnValues` in the code under test.
 */
import {
  DeleteCommand,
  type DeleteCommandInput,
  type DynamoDBDocumentClientResolvedConfig,
  type ServiceInputTypes,
  type ServiceOutputTypes,
  UpdateCommand,
  type UpdateCommandInput,
} from '@aws-sdk/lib-dynamodb';
import type { AwsStub } from 'aws-sdk-client-mock';

type DocumentClientMock = AwsStub<ServiceInputTypes, ServiceOutputTypes, DynamoDBDocumentClientResolvedConfig>;
type Row = Record<string, unknown>;

const matchesKey = (row: Row, key: Row) => Object.entries(key).every(([name, value]) => row[name] === value);

/**
 * DeleteCommand over these rows: the old row comes back in `Attributes` only when it existed
 * and the request says ReturnValues 'ALL_OLD'; once deleted, a row is gone for later deletes.
 */
export function answerDeletes(mock: DocumentClientMock, rows: Row[]): void {
  const remaining = [...rows];
  mock.on(DeleteCommand).callsFake((input: DeleteCommandInput) => {
    const index = remaining.findIndex((row) => matchesKey(row, input.Key as Row));
    if (index === -1) return {};
    const [row] = remaining.splice(index, 1);
    return input.ReturnValues === 'ALL_OLD' ? { Attributes: row } : {};
  });
}

/** UpdateCommand: `Attributes` (from `attributesOf`) only when ReturnValues asks for some. */
export function answerUpdates(
  mock: DocumentClientMock,
  attributesOf: (input: UpdateCommandInput) => Row = () => ({}),
): void {
  mock
    .on(UpdateCommand)
    .callsFake((input: UpdateCommandInput) =>
      input.ReturnValues === undefined || input.ReturnValues === 'NONE' ? {} : { Attributes: attributesOf(input) },
    );
}
