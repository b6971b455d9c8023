/**
 * oclif's command_not_found hook: an unknown command exits 64 with a did-you-mean (cli/unknown.ts) instead of
 * oclif's "command foo not found" and exit 2.
 */
import type { Hook } from '@oclif/core';
import { unknownCommand } from '../unknown.js';

const hook: Hook.CommandNotFound = async (opts) => {
  unknownCommand(opts.config, opts.id, opts.argv ?? []);
};

export default hook;
