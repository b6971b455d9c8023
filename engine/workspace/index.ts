/**
 * The workspace as every command opens it: find the root (root.ts: one search, one error), choose the
 * environment and its Git ref (environment.ts), name the actor (actor.ts), the branding (branding.ts) and the
 * workspace's identity that saved plans carry (identity.ts), and open and validate it (open.ts).
 *
 * It reads files and Git through load/ and git/ only; it must not touch the database, plans or pg-boss.
 */
export * from './actor.js';
export * from './branding.js';
export * from './environment.js';
export * from './identity.js';
export * from './open.js';
export * from './root.js';
