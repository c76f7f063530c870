/**
 * The identity every local service shares: one Region, one account id in every ARN, and
 * credentials the SDK signs with (@connections and Step Functions check the signatures).
 * Kept free of imports, so the library and the CLI can read it without loading the local stack.
 */
export const LOCAL_REGION = 'us-east-1';
export const LOCAL_ACCOUNT = '000000000000';
export const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };
/** The name the local stack registers statemachines/broadcast.asl.json under. */
export const LOCAL_STATE_MACHINE_NAME = 'swarmcast-broadcast';
