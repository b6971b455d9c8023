#!/usr/bin/env node
// The `rsync` (alias `retail-sync`) command. Commands are compiled from cli/commands/*.ts into .build/ by
// `npm run build`, which `npm ci` runs through the `prepare` script.
import { execute } from '@oclif/core';

await execute({ dir: import.meta.url });
