/** Pieces every page uses: links that navigate in place, the health badge, the loader of one API read, a form's submit. */
import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { type ApiError, api, go } from './api';

export function Link(p: { href: string; children: ComponentChildren; class?: string }) {
  return (
    <a
      href={p.href}
      class={p.class}
      onClick={(e) => {
        if (e.metaKey || e.ctrlKey || e.shiftKey) return;
        e.preventDefault();
        go(p.href);
      }}
    >
      {p.children}
    </a>
  );
}

export function Health(p: { health: string }) {
  return <span class={`badge h-${p.health}`}>{p.health}</span>;
}

export function Status(p: { status: string }) {
  return <span class={`badge s-${p.status}`}>{p.status}</span>;
}

/** GET `path` (again every `everyMs`, when given): [data, error, reload]. */
export function useApi<T>(path: string | null, everyMs?: number): [T | undefined, ApiError | undefined, () => void] {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<ApiError>();
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (!path) return;
    let live = true;
    const load = () =>
      api<T>(path).then(
        (d) => {
          if (!live) return;
          setData(d);
          setError(undefined);
        },
        (e: ApiError) => live && setError(e),
      );
    void load();
    const t = everyMs ? setInterval(load, everyMs) : undefined;
    return () => {
      live = false;
      if (t) clearInterval(t);
    };
  }, [path, everyMs, tick]);
  return [data, error, () => setTick((n) => n + 1)];
}

export function Problem(p: { error: ApiError }) {
  if (p.error.status === 404) return <div class="notice">Not found.</div>;
  if (p.error.status === 403) return <div class="notice">Your role may not see this.</div>;
  return <div class="notice error">{p.error.message}</div>;
}

export function Json(p: { value: unknown }) {
  return <pre class="code">{JSON.stringify(p.value, null, 2)}</pre>;
}

/** A form's submit: `act` runs once at a time, `busy` meanwhile; what it threw is `error` (the API's message). */
export function useSubmit(act: () => Promise<void>): { busy: boolean; error: string; onSubmit: (e: Event) => void } {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const onSubmit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError('');
    try {
      await act();
    } catch (err) {
      setError((err as ApiError).message);
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, onSubmit: (e) => void onSubmit(e) };
}
