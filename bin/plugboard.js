#!/usr/bin/env node
// The `plugboard` command: the same entry point as `npm start` and the container's CMD.
// Node >= 22.18 runs the TypeScript sources directly (type stripping), so there is no build step.
import '../src/main.ts';
