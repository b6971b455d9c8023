#!/usr/bin/env node
// The `rsync` (alias `retail-sync`) command. Commands are compiled from cli/commands/*.ts into .build/ by
// `npm run build`, which `npm ci` runs through the `prepare` script.
import { execute, settings } from '@oclif/core';

// Always the compiled .build/: with NODE_ENV=test or development (a CI job, a test runner's children) oclif would
// otherwise map the help class to cli/help.ts, which Node cannot load, and every `--help` failed with exit 1.
settings.enableAutoTranspile = false;

await execute({ dir: import.meta.url });
