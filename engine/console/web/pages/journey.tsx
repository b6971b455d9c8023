import { useState } from 'preact/hooks';
import { enc, go, type JourneyFlow } from '../api';
import { Json, Link, Problem, useApi } from '../ui';

export function Journey() {
  const q = new URLSearchParams(location.search).get('q') ?? '';
  const [term, setTerm] = useState(q);
  const [data, error] = useApi<{ q: string; flows: JourneyFlow[] }>(q ? `/api/journey?q=${enc(q)}` : null);
  return (
    <section>
      <h1>Record journey</h1>
      <form
        class="filters"
        onSubmit={(e) => {
          e.preventDefault();
          go(`/journey?q=${enc(term.trim())}`);
        }}
      >
        <input
          type="search"
          class="wide"
          placeholder="any id: source id, idempotency key, target id, delivery id"
          value={term}
          onInput={(e) => setTerm((e.target as HTMLInputElement).value)}
        />
        <button type="submit">Search</button>
      </form>
      {error ? <Problem error={error} /> : null}
      {data && !data.flows.length ? <div class="notice">Nothing found for “{data.q}”.</div> : null}
      {data?.flows.map((f) => {
        const [customer, , name] = f.address.split('/');
        return (
          <div class="card journey" key={`${f.address} ${f.key}`}>
            <h2>
              <Link href={`/flows/${enc(customer)}/${enc(name)}`}>
                {customer} / {name}
              </Link>{' '}
              <code>{f.key ?? 'no key'}</code>
            </h2>
            <div class="ids">
              {f.sourceId ? (
                <span>
                  source id <code>{f.sourceId}</code>
                </span>
              ) : null}
              {f.target ? (
                <span>
                  in {f.target} as <code>{f.targetId}</code> ({f.writes} write{f.writes === 1 ? '' : 's'})
                </span>
              ) : null}
            </div>
            <ol class="steps">
              {f.steps.map((s) => (
                <li class={`step st-${s.step}`}>
                  <span class="when">{new Date(s.at).toLocaleString()}</span> <strong>{s.step}</strong> {s.detail}{' '}
                  {s.letter ? <Link href={`/dead-letters/${s.letter}`}>#{s.letter}</Link> : null}
                </li>
              ))}
            </ol>
            {f.view ? (
              <details>
                <summary>what the target holds (PII masked)</summary>
                <Json value={f.view} />
              </details>
            ) : null}
          </div>
        );
      })}
    </section>
  );
}
