// oidc-provider ships no types (and @types/oidc-provider is not installed): its import is `any` in the tests.
declare module 'oidc-provider';
