/**
 * How a handler is bundled, for the deployed stack (NodejsFunction's esbuild options,
 * infra/constructs/swarmcast-function.ts) and the local stack (local/lambda/bundle.ts) alike:
 * what runs locally is the file Lambda runs.
 */
export const HANDLER_BUNDLE = {
  /** Lambda's nodejs22.x runtime. */
  target: 'node22',
  /** CommonJS: the runtime loads `handler` from it without an ESM loader. */
  format: 'cjs',
  minify: true,
  /** Class and function names survive minification: readable stack traces and logged error names. */
  keepNames: true,
  sourceMap: true,
} as const;
