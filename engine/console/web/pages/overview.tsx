import { useMemo, useState } from 'preact/hooks';
import { ago, duration, enc } from '../api';
import { Health, Link, Problem, useApi } from '../ui';

interface Row {
  address: string;
  customer: string;
  flow: string;
  revision: number;
  trigger: string;
  health: 'ok' | 'late' | 'failing' | 'idle';
  lastRun: { id: number; status: string; at: string; read: number; written: number; dead: number } | null;
  lagMs: number | null;
  freshnessMs: number | null;
  recordsLastHour: number;
  recordsLastDay: number;
  deadLetters: number;
  budget: { records?: { leftShare: string }; minutes?: { leftShare: string } };
}

interface Data {
  env: string;
  at: string;
  customers: string[];
  totals: { flows: number; ok: number; late: number; failing: number; idle: number; deadLetters: number };
  flows: Row[];
}

const SHOWN = 200;

const budgetLeft = (b: Row['budget']) => (b.records ?? b.minutes)?.leftShare ?? '—';

export function Overview() {
  const [data, error] = useApi<Data>('/api/overview', 5000);
  const [customer, setCustomer] = useState('');
  const [health, setHealth] = useState('');
  const [q, setQ] = useState('');
  const [all, setAll] = useState(false);
  const rows = useMemo(() => {
    const needle = q.trim().toLowerCase();
    return (data?.flows ?? []).filter(
      (f) =>
        (!customer || f.customer === customer) &&
        (!health || f.health === health) &&
        (!needle || f.address.includes(needle)),
    );
  }, [data, customer, health, q]);
  if (error && !data) return <Problem error={error} />;
  if (!data) return <div class="notice">Loading…</div>;
  const t = data.totals;
  const shown = all ? rows : rows.slice(0, SHOWN);
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
              <td class="n">{budgetLeft(f.budget)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {rows.length > shown.length ? (
        <button type="button" class="link" onClick={() => setAll(true)}>
          show all {rows.length} flows ({rows.length - shown.length} more)
        </button>
      ) : null}
      {!rows.length ? <div class="notice">No flow matches.</div> : null}
    </section>
  );
}
