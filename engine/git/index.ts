/**
 * The one Git layer: the only code that runs git. It reads a ref's tree and blobs (tree.ts), resolves refs to
 * commits (refs.ts: one resolution every caller shares), reads the commit log for history (history.ts), does
 * promotion's plumbing — a private index, commit objects, compare-and-swap branch moves (plumbing.ts) — and
 * reads who the user is (identity.ts).
 *
 * It knows nothing of workspaces, plans or the database: callers pass the paths and file filters they want. It
 * must never write the user's index or working tree, except where plumbing.ts says so (`syncCheckedOut`).
 */
export * from './history.js';
export * from './identity.js';
export * from './notes.js';
export * from './plumbing.js';
export * from './refs.js';
export * from './run.js';
export * from './tree.js';
