#!/usr/bin/env node
// The CLI is TypeScript run through tsx, so `npx swarmcast` needs no build step.
require('tsx/cjs');
require('../main.ts');
