/** The console's pages: sign-in, then the page the address names; the partner's branding on every one. */
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { type ApiError, api, branding, type Me, setCsrf } from './api';
import { Changes } from './pages/changes';
import { DeadLetter, DeadLetters } from './pages/dead-letters';
import { Flow } from './pages/flow';
import { Journey } from './pages/journey';
import { Overview } from './pages/overview';
import { SignIn } from './pages/sign-in';
import { Link } from './ui';
import './style.css';

const brand = branding();

function usePath(): string {
  const [path, setPath] = useState(location.pathname + location.search);
  useEffect(() => {
    const on = () => setPath(location.pathname + location.search);
    addEventListener('popstate', on);
    return () => removeEventListener('popstate', on);
  }, []);
  return path;
}

function Page(p: { path: string; me: Me }) {
  const [pathname] = p.path.split('?');
  const parts = pathname.split('/').filter(Boolean).map(decodeURIComponent);
  if (parts[0] === 'flows' && parts.length === 3) return <Flow customer={parts[1]} flow={parts[2]} me={p.me} />;
  if (parts[0] === 'dead-letters' && parts.length === 2) return <DeadLetter id={parts[1]} me={p.me} />;
  if (parts[0] === 'dead-letters') return <DeadLetters me={p.me} />;
  if (parts[0] === 'journey') return <Journey />;
  if (parts[0] === 'changes') return <Changes me={p.me} />;
  if (parts.length === 0) return <Overview />;
  return <div class="notice">Not found.</div>;
}

function App() {
  const path = usePath();
  const [me, setMe] = useState<Me | null | undefined>(undefined);
  const load = () =>
    api<Me>('/api/session').then(
      (m) => {
        setCsrf(m.csrf);
        setMe(m);
      },
      (e: ApiError) => (e.status === 401 ? setMe(null) : setMe(null)),
    );
  useEffect(() => void load(), []);
  const section = path.split('/')[1]?.split('?')[0] ?? '';
  return (
    <div class="shell" style={{ '--brand': brand.primaryColor }}>
      <header class="top">
        <div class="brand">
          {brand.logoUrl ? <img src={brand.logoUrl} alt="" class="logo" /> : null}
          <span class="product">{brand.productName}</span>
          {me ? <span class="env">{me.env}</span> : null}
        </div>
        {me ? (
          <nav>
            <Link href="/" class={section === '' || section === 'flows' ? 'on' : ''}>
              Overview
            </Link>
            <Link href="/dead-letters" class={section === 'dead-letters' ? 'on' : ''}>
              Dead letters
            </Link>
            <Link href="/journey" class={section === 'journey' ? 'on' : ''}>
              Record journey
            </Link>
            <Link href="/changes" class={section === 'changes' ? 'on' : ''}>
              Changes
            </Link>
          </nav>
        ) : null}
        {me ? (
          <div class="who">
            <span title={me.identity.id}>
              {me.identity.name} · {me.identity.role}
              {me.identity.customer ? ` · ${me.identity.customer}` : ''}
            </span>
            <button
              type="button"
              class="link"
              onClick={() => api('/api/session', { method: 'DELETE' }).finally(() => setMe(null))}
            >
              Sign out
            </button>
          </div>
        ) : null}
      </header>
      <main>
        {me === undefined ? (
          <div class="notice">Loading…</div>
        ) : me === null ? (
          <SignIn onIn={load} brand={brand} />
        ) : (
          <Page path={path} me={me} />
        )}
      </main>
      <footer>
        {brand.footer ? <span>{brand.footer}</span> : null}
        {brand.supportUrl ? (
          <a href={brand.supportUrl} rel="noreferrer">
            Support
          </a>
        ) : null}
      </footer>
    </div>
  );
}

render(<App />, document.getElementById('app')!);
