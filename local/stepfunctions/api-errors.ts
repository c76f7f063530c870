/**
 * Errors the Step Functions API answers with. The SDK maps the `__type` of the JSON body
 * (text after `#`) to its exception classes, so `instanceof ExecutionDoesNotExist` works
 * on the client side.
 */
export class SfnApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly httpStatus = 400,
    private readonly namespace = 'com.amazonaws.swf.service.v2.model',
  ) {
    super(message);
    this.name = code;
  }

  /** Wire form of AWS: the model namespace before `#`, the short code after it. */
  toBody(): { __type: string; message: string } {
    return { __type: `${this.namespace}#${this.code}`, message: this.message };
  }
}

/**
 * A refused signature comes from AWS's common request front end, not from the Step Functions
 * model, so it carries the front end's namespace. Every refusal of the caller's identity is 403:
 * the common errors list MissingAuthenticationToken and InvalidClientTokenId as 403, and a
 * signature that does not match is the same refusal of who is calling.
 */
export const unauthenticated = (code: string, message: string) =>
  new SfnApiError(code, message, 403, 'com.amazon.coral.service');

export const executionDoesNotExist = (arn: string) =>
  new SfnApiError('ExecutionDoesNotExist', `Execution Does Not Exist: '${arn}'`);
export const stateMachineDoesNotExist = (arn: string) =>
  new SfnApiError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${arn}'`);
export const mapRunDoesNotExist = (arn: string) =>
  new SfnApiError('ResourceNotFound', `Map Run Does Not Exist: '${arn}'`);
export const invalidArn = (arn: unknown) => new SfnApiError('InvalidArn', `Invalid Arn: '${String(arn)}'`);
export const validationError = (message: string) => new SfnApiError('ValidationException', message);
