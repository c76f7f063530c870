#!/usr/bin/env node
// The CLI is TypeScript run through tsx, so `npx swarmcast` needs no build step. Both hooks are
// needed: require() for the CLI itself, and import() for the handlers the local stack loads the
// way Lambda does (without the ESM hook, Node's own type stripping takes those and fails).
require('tsx/cjs');
require('tsx/esm/api').register();
require('../main.ts');
