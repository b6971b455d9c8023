/**
 * Writes .oclif.manifest.json (generated, git-ignored) after each build: with it, oclif finds a command without
 * importing every command module first (about 0.3 s off every run). `npm run build` runs this.
 */
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Config } from '@oclif/core';
import { projectRoot } from '../engine/util/paths.js';

const root = projectRoot();
// oclif reads an existing manifest even with ignoreManifest, so a new command would never be listed: start clean.
rmSync(path.join(root, '.oclif.manifest.json'), { force: true });
const config = await Config.load({ root, ignoreManifest: true } as Parameters<typeof Config.load>[0]);
const plugin = config.plugins.get(config.pjson.name);
if (!plugin) throw new Error(`no plugin ${config.pjson.name}`);
const manifest = (plugin as unknown as { manifest: { commands: Record<string, unknown> } }).manifest;
writeFileSync(path.join(root, '.oclif.manifest.json'), JSON.stringify(manifest) + '\n');
console.log(`wrote .oclif.manifest.json (${Object.keys(manifest.commands).length} commands)`);
