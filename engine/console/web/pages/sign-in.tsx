import { useState } from 'preact/hooks';
import { api, type Branding } from '../api';
import { useSubmit } from '../ui';

export function SignIn(p: { onIn: () => void; brand: Branding }) {
  const [token, setToken] = useState('');
  const { busy, error, onSubmit } = useSubmit(async () => {
    await api('/api/session', { method: 'POST', body: { token } });
    setToken('');
    p.onIn();
  });
  return (
    <form class="signin card" onSubmit={onSubmit}>
      <h1>Sign in to {p.brand.productName}</h1>
      <p class="muted">
        Paste the token you were given (rsync token create). It is exchanged for a session of this browser.
      </p>
      <label>
        Token
        <input
          name="token"
          type="password"
          autocomplete="off"
          value={token}
          onInput={(e) => setToken((e.target as HTMLInputElement).value)}
          placeholder="rsy_…"
        />
      </label>
      <button type="submit" disabled={busy || !token}>
        Sign in
      </button>
      {error ? <div class="notice error">{error}</div> : null}
      {p.brand.signInWith ? (
        <p class="oidc">
          <a class="button" href={p.brand.signInWith.href}>
            {p.brand.signInWith.label}
          </a>
        </p>
      ) : null}
    </form>
  );
}
