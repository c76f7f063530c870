/**
 * What an @connections call answers, as plain data: the owning worker computes it, and a
 * worker that forwarded the call writes it as the HTTP response. Error responses follow
 * API Gateway's REST-JSON shape (status, x-amzn-ErrorType header, {"message"} body), which
 * is what makes the SDK throw its modeled exception classes (GoneException, ...).
 */
export interface ManagementResult {
  status: number;
  /** Set on errors: the x-amzn-ErrorType header. */
  errorType?: string;
  /** JSON body (errors and GetConnection). */
  body?: string;
}

function error(status: number, errorType: string, message: string): ManagementResult {
  return { status, errorType, body: JSON.stringify({ message }) };
}

export const RESULTS = {
  posted: { status: 200 },
  deleted: { status: 204 },
  gone: error(410, 'GoneException', 'Gone'),
  payloadTooLarge: error(413, 'PayloadTooLargeException', 'Message too long'),
  limitExceeded: error(429, 'LimitExceededException', 'Rate exceeded'),
  forbidden: error(403, 'ForbiddenException', 'Forbidden'),
  badRequest: (message: string) => error(400, 'BadRequestException', message),
  /** A missing or wrong SigV4 signature: API Gateway answers 403 with the signing error's code. */
  unauthenticated: (errorType: string, message: string) => error(403, errorType, message),
  internalError: error(500, 'InternalServerErrorException', 'Internal server error'),
} satisfies Record<string, ManagementResult | ((...args: string[]) => ManagementResult)>;
