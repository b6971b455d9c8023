import { useState } from 'preact/hooks';
import { ago, duration, enc, type FlowPageView, type Me, type RunView } from '../api';
import { Health, Json, Link, Problem, Status, useApi } from '../ui';

type Run = RunView;
type Data = FlowPageView;

/** Records read and dead-lettered per hour over the last 48 hours, as bars; the p95 run time as a line. */
function Chart(p: { volume: Data['volume'] }) {
  const W = 720;
  const H = 140;
  const now = Date.now();
  const hours = Array.from({ length: 48 }, (_, i) => {
    const start = new Date(Math.floor(now / 3_600_000) * 3_600_000 - (47 - i) * 3_600_000).toISOString();
    return p.volume.find((v) => v.hour === start) ?? { hour: start, read: 0, written: 0, dead: 0, p95Ms: null };
  });
  const max = Math.max(1, ...hours.map((h) => h.read));
  const maxMs = Math.max(1, ...hours.map((h) => h.p95Ms ?? 0));
  const bw = W / hours.length;
  const line = hours
    .map((h, i) => (h.p95Ms === null ? null : `${(i + 0.5) * bw},${H - 4 - ((H - 24) * h.p95Ms) / maxMs}`))
    .filter(Boolean)
    .join(' ');
  return (
    <svg class="chart" viewBox={`0 0 ${W} ${H + 16}`} role="img" aria-label="records per hour, last 48 hours">
      <title>records per hour, last 48 hours</title>
      {hours.map((h, i) => {
        const hh = ((H - 20) * h.read) / max;
        const hd = ((H - 20) * h.dead) / max;
        return (
          <g key={h.hour}>
            <rect x={i * bw + 1} y={H - hh} width={bw - 2} height={hh} class="bar">
              <title>{`${h.hour.slice(0, 13)}h: ${h.read} read, ${h.written} written, ${h.dead} dead`}</title>
            </rect>
            {h.dead ? <rect x={i * bw + 1} y={H - hd} width={bw - 2} height={hd} class="bar dead" /> : null}
          </g>
        );
      })}
      {line ? <polyline points={line} class="p95" /> : null}
      <text x="0" y={H + 14} class="axis">
        48 h ago
      </text>
      <text x={W} y={H + 14} class="axis" text-anchor="end">
        now · max {max}/h · p95 run {duration(maxMs)}
      </text>
    </svg>
  );
}

function RunRow(p: { run: Run }) {
  const [open, setOpen] = useState(false);
  const r = p.run;
  return (
    <>
      <tr>
        <td>
          <button type="button" class="link" onClick={() => setOpen(!open)} aria-expanded={open}>
            {open ? '▾' : '▸'} #{r.id}
          </button>
        </td>
        <td>{r.trigger}</td>
        <td>
          <Status status={r.outcome} />
        </td>
        <td>{ago(r.startedAt)}</td>
        <td class="n">{r.finishedAt ? duration(Date.parse(r.finishedAt) - Date.parse(r.startedAt)) : 'running'}</td>
        <td class="n">{r.read}</td>
        <td class="n">{r.written}</td>
        <td class="n">{r.unchanged}</td>
        <td class="n">{r.filtered}</td>
        <td class="n">{r.dead}</td>
        <td class="n">{r.retries}</td>
      </tr>
      {open ? (
        <tr class="log">
          <td colSpan={11}>
            {r.error ? <div class="notice error">{r.error}</div> : null}
            {r.log.length ? (
              <ul class="runlog">
                {r.log.map((l) => (
                  <li>
                    {Object.entries(l)
                      .map(([k, v]) => `${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`)
                      .join(' · ')}
                  </li>
                ))}
              </ul>
            ) : (
              <span class="muted">No back-off waits or retries in this run.</span>
            )}
          </td>
        </tr>
      ) : null}
    </>
  );
}

export function Flow(p: { customer: string; flow: string; me: Me }) {
  const [d, error] = useApi<Data>(`/api/flows/${enc(p.customer)}/${enc(p.flow)}`, 5000);
  if (error && !d) return <Problem error={error} />;
  if (!d) return <div class="notice">Loading…</div>;
  const t = d.trigger;
  return (
    <section>
      <h1>
        {d.customer} / {d.flow} {d.status ? <Health health={d.status.health} /> : null}
      </h1>
      <dl class="facts">
        <dt>revision</dt>
        <dd>
          {d.revision}
          {d.commit ? <code class="sha"> {d.commit.slice(0, 12)}</code> : null}
          {d.appliedAt ? ` · applied ${ago(d.appliedAt)} by ${d.appliedBy}` : ''}
        </dd>
        <dt>trigger</dt>
        <dd>
          {t.kind === 'event'
            ? `webhook ${t.event ?? ''}`
            : t.kind === 'schedule'
              ? `${t.schedule?.cron} (${t.schedule?.timezone})`
              : 'manual'}
        </dd>
        <dt>source</dt>
        <dd>
          {d.source.system} ({d.source.type}) · {d.source.stream}
        </dd>
        <dt>target</dt>
        <dd>
          {d.target.system} ({d.target.type}) · {d.target.entity}
        </dd>
        <dt>key</dt>
        <dd>
          <code>{d.key}</code>
        </dd>
        <dt>lag</dt>
        <dd>{duration(d.status?.lagMs)}</dd>
        <dt>dead letters</dt>
        <dd>
          {d.status?.deadLetters ? (
            <Link href={`/dead-letters?flow=${enc(d.address)}`}>{d.status.deadLetters} open</Link>
          ) : (
            'none open'
          )}
        </dd>
      </dl>
      <h2>Volume</h2>
      <Chart volume={d.volume} />
      <h2>Recent runs</h2>
      <table class="grid">
        <thead>
          <tr>
            <th>run</th>
            <th>trigger</th>
            <th>outcome</th>
            <th>started</th>
            <th class="n">took</th>
            <th class="n">read</th>
            <th class="n">written</th>
            <th class="n">unchanged</th>
            <th class="n">filtered</th>
            <th class="n">dead</th>
            <th class="n">retries</th>
          </tr>
        </thead>
        <tbody>
          {d.runs.map((r) => (
            <RunRow key={r.id} run={r} />
          ))}
        </tbody>
      </table>
      {!d.runs.length ? <div class="notice">It never ran.</div> : null}
      <h2>Mapping {d.mapping.file ? <code>{d.mapping.file}</code> : null}</h2>
      <pre class="code">{d.mapping.text}</pre>
      <div class="cols">
        <div>
          <h2>Policy {d.declared.policy ? <code>{d.declared.policy.address}</code> : null}</h2>
          {d.declared.policy ? <Json value={d.declared.policy.spec} /> : <span class="muted">none</span>}
        </div>
        <div>
          <h2>SLA {d.declared.sla ? <code>{d.declared.sla.address}</code> : null}</h2>
          {d.declared.sla ? <Json value={d.declared.sla.spec} /> : <span class="muted">none</span>}
        </div>
      </div>
      <h2>Flow as declared</h2>
      <Json value={d.declared.flow} />
    </section>
  );
}
