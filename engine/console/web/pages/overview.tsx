import { useEffect, useState } from 'preact/hooks';
import { ago, duration, enc, type Overview as Data } from '../api';
import { Health, Link, Problem, useApi } from '../ui';

const SHOWN = 200;

export function Overview() {
  const [customer, setCustomer] = useState('');
  const [health, setHealth] = useState('');
  const [q, setQ] = useState('');
  const [search, setSearch] = useState('');
  const [all, setAll] = useState(false);
  // Filtered and paged on the server: an environment may have 10,000 flows.
  useEffect(() => {
    const t = setTimeout(() => setSearch(q.trim().toLowerCase()), 250);
    return () => clearTimeout(t);
  }, [q]);
  const query = new URLSearchParams({
    ...(customer ? { customer } : {}),
    ...(health ? { health } : {}),
    ...(search ? { q: search } : {}),
    ...(all ? {} : { limit: String(SHOWN) }),
  }).toString();
  const [data, error] = useApi<Data>(`/api/overview?${query}`, 5000);
  if (error && !data) return <Problem error={error} />;
  if (!data) return <div class="notice">Loading…</div>;
  const rows = data.flows;
  const matched = data.matched ?? rows.length;
  const t = data.totals;
  const shown = rows;
  return (
    <section>
      <h1>Overview</h1>
      <div class="totals">
        <span class="total">{t.flows} flows</span>
        {(['ok', 'late', 'failing', 'idle'] as const).map((h) => (
          <button
            type="button"
            class={`total h-${h} ${health === h ? 'sel' : ''}`}
            onClick={() => setHealth(health === h ? '' : h)}
          >
            {t[h]} {h}
          </button>
        ))}
        <span class="total">{t.deadLetters} open dead letters</span>
        <span class="muted live">live · updated {ago(data.at)}</span>
      </div>
      <div class="filters">
        <select
          aria-label="customer"
          value={customer}
          onChange={(e) => setCustomer((e.target as HTMLSelectElement).value)}
        >
          <option value="">every customer ({data.customers.length})</option>
          {data.customers.map((c) => (
            <option value={c}>{c}</option>
          ))}
        </select>
        <select aria-label="health" value={health} onChange={(e) => setHealth((e.target as HTMLSelectElement).value)}>
          <option value="">any health</option>
          <option value="ok">ok</option>
          <option value="late">late</option>
          <option value="failing">failing</option>
          <option value="idle">idle</option>
        </select>
        <input
          type="search"
          placeholder="search flows"
          value={q}
          onInput={(e) => setQ((e.target as HTMLInputElement).value)}
        />
      </div>
      <table class="grid">
        <thead>
          <tr>
            <th>customer</th>
            <th>flow</th>
            <th>health</th>
            <th>trigger</th>
            <th>last run</th>
            <th class="n">lag</th>
            <th class="n">SLA</th>
            <th class="n">last hour</th>
            <th class="n">last day</th>
            <th class="n">dead letters</th>
            <th class="n">budget left</th>
          </tr>
        </thead>
        <tbody>
          {shown.map((f) => (
            <tr key={f.address}>
              <td>{f.customer}</td>
              <td>
                <Link href={`/flows/${enc(f.customer)}/${enc(f.flow)}`}>{f.flow}</Link>
              </td>
              <td>
                <Health health={f.health} />
              </td>
              <td>{f.trigger}</td>
              <td>{f.lastRun ? `${f.lastRun.status} ${ago(f.lastRun.at)}` : 'never'}</td>
              <td class="n">{duration(f.lagMs)}</td>
              <td class="n">{duration(f.freshnessMs)}</td>
              <td class="n">{f.recordsLastHour}</td>
              <td class="n">{f.recordsLastDay}</td>
              <td class="n">
                {f.deadLetters ? <Link href={`/dead-letters?flow=${enc(f.address)}`}>{f.deadLetters}</Link> : 0}
              </td>
              <td class="n">{f.budgetLeft ?? '—'}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {matched > shown.length ? (
        <button type="button" class="link" onClick={() => setAll(true)}>
          show all {matched} flows ({matched - shown.length} more)
        </button>
      ) : null}
      {!rows.length ? <div class="notice">No flow matches.</div> : null}
    </section>
  );
}
