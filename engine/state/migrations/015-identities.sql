-- Identities (engine/auth/tokens.ts): API tokens for the console and the CLI, each with a role and, for a customer
-- viewer, its one customer. Only the SHA-256 of a token's secret is kept (the secret is 32 random bytes, shown once
-- at creation); a revoked or expired token is refused at once. Sessions of the console's sign-in are tokens too
-- (kind 'session'), short-lived and bound to the token or OpenID Connect identity that opened them.
CREATE TABLE IF NOT EXISTS rsync.tokens (
  id            text        PRIMARY KEY,            -- the public part of the token: rsy_<id>_<secret>
  kind          text        NOT NULL DEFAULT 'api' CHECK (kind IN ('api', 'session')),
  name          text        NOT NULL,               -- who or what holds it: "ci", "jane@partner.example"
  role          text        NOT NULL CHECK (role IN ('admin', 'operator', 'viewer', 'customer-viewer')),
  customer      text,                               -- the one customer of a customer viewer
  secret_hash   text        NOT NULL,               -- hex SHA-256 of the secret
  created_at    timestamptz NOT NULL DEFAULT now(),
  created_by    text        NOT NULL,
  expires_at    timestamptz,
  revoked_at    timestamptz,
  revoked_by    text,
  last_used_at  timestamptz,
  CHECK ((role = 'customer-viewer') = (customer IS NOT NULL))
);
CREATE INDEX IF NOT EXISTS tokens_live ON rsync.tokens (kind) WHERE revoked_at IS NULL;
