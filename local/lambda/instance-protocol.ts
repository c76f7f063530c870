/** The IPC messages between a local function instance (instance.ts) and its parent (function-instance.ts). */
export interface InvokeRequest {
  id: number;
  functionName: string;
  awsRequestId: string;
  remainingMs: number;
  event: unknown;
}

export interface SerializedError {
  name: string;
  message: string;
}

export type InstanceMessage =
  | { type: 'ready' }
  | { type: 'init-error'; error: SerializedError }
  | { type: 'result'; id: number; ok: true; result: unknown }
  | { type: 'result'; id: number; ok: false; error: SerializedError };
