import { useState } from 'preact/hooks';
import { type ApiError, api, type Branding } from '../api';

export function SignIn(p: { onIn: () => void; brand: Branding }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  return (
    <form
      class="signin card"
      onSubmit={async (e) => {
        e.preventDefault();
        setBusy(true);
        setError('');
        try {
          await api('/api/session', { method: 'POST', body: { token } });
          setToken('');
          p.onIn();
        } catch (err) {
          setError((err as ApiError).message);
        } finally {
          setBusy(false);
        }
      }}
    >
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
    </form>
  );
}
