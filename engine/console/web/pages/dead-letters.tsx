import { useState } from 'preact/hooks';
import { type ActionResultView, ago, type DeadLetterView, type ApiError, api, enc, go, type Me } from '../api';
import { Json, Link, Problem, Status, useApi } from '../ui';

type Letter = DeadLetterView;
type ActionResult = ActionResultView;

const flowName = (a: string) => a.replace('/flow/', ' / ');

/** "(written by run 3 on revision 1): why" from a letter's resolution. */
function describeResolution(r: unknown): string {
  const x = (r ?? {}) as { outcome?: string; run?: number; revision?: number; reason?: string | null };
  const how = x.outcome ? `(${x.outcome} by run ${x.run} on revision ${x.revision})` : x.run ? `(run ${x.run})` : '';
  return [how, x.reason ? `— ${x.reason}` : ''].filter(Boolean).join(' ');
}

export function DeadLetters(p: { me: Me }) {
  const params = new URLSearchParams(location.search);
  const [flow, setFlow] = useState(params.get('flow') ?? '');
  const [error, setError] = useState(params.get('error') ?? '');
  const [status, setStatus] = useState(params.get('status') ?? 'open');
  const query = new URLSearchParams({ status, ...(flow ? { flow } : {}), ...(error ? { error } : {}) }).toString();
  const [data, problem, reload] = useApi<{
    letters: Letter[];
    groups: { address: string; error: string; n: number }[];
  }>(`/api/dead-letters?${query}`, 5000);
  const [picked, setPicked] = useState<Set<number>>(new Set());
  const [action, setAction] = useState('replay');
  const [reason, setReason] = useState('');
  const [to, setTo] = useState('');
  const [plan, setPlan] = useState<ActionResult>();
  const [done, setDone] = useState<ActionResult>();
  const [fail, setFail] = useState('');
  const bulk = async (confirm: boolean) => {
    setFail('');
    try {
      const r = await api<ActionResult>('/api/dead-letters/bulk', {
        method: 'POST',
        body: { action, ids: [...picked], reason, to, confirm },
      });
      if (confirm) {
        setDone(r);
        setPlan(undefined);
        setPicked(new Set());
        reload();
      } else setPlan(r);
    } catch (e) {
      setFail((e as ApiError).message);
    }
  };
  if (problem && !data) return <Problem error={problem} />;
  const letters = data?.letters ?? [];
  const toggle = (id: number) => {
    const s = new Set(picked);
    if (s.has(id)) s.delete(id);
    else s.add(id);
    setPicked(s);
    setPlan(undefined);
  };
  return (
    <section>
      <h1>Dead letters</h1>
      <div class="filters">
        <input
          class="wide"
          placeholder="flow address (customer/flow/name)"
          value={flow}
          onChange={(e) => setFlow((e.target as HTMLInputElement).value)}
        />
        <input
          placeholder="error contains"
          value={error}
          onChange={(e) => setError((e.target as HTMLInputElement).value)}
        />
        <select aria-label="status" value={status} onChange={(e) => setStatus((e.target as HTMLSelectElement).value)}>
          {['open', 'replayed', 'discarded', 'resolved', 'all'].map((s) => (
            <option value={s}>{s}</option>
          ))}
        </select>
      </div>
      {data?.groups.length ? (
        <div class="groups">
          <h2>By flow and error</h2>
          <ul>
            {data.groups.map((g) => (
              <li>
                <button
                  type="button"
                  class="link"
                  onClick={() => {
                    setFlow(g.address);
                    setError(g.error.slice(0, 60));
                  }}
                >
                  {flowName(g.address)}
                </button>{' '}
                <span class="count">{g.n}</span> <span class="muted">{g.error}</span>
              </li>
            ))}
          </ul>
        </div>
      ) : null}
      {p.me.may.operate ? (
        <div class="bulk card">
          <strong>{picked.size} selected</strong>
          <select
            aria-label="bulk action"
            value={action}
            onChange={(e) => {
              setAction((e.target as HTMLSelectElement).value);
              setPlan(undefined);
            }}
          >
            <option value="replay">replay</option>
            <option value="discard">discard</option>
            <option value="resolve">resolve</option>
            <option value="assign">assign</option>
          </select>
          {action === 'assign' ? (
            <input placeholder="assign to" value={to} onInput={(e) => setTo((e.target as HTMLInputElement).value)} />
          ) : null}
          <input
            placeholder="reason (kept in the audit log)"
            value={reason}
            onInput={(e) => setReason((e.target as HTMLInputElement).value)}
          />
          <button type="button" disabled={!picked.size} onClick={() => bulk(false)}>
            Dry run
          </button>
          {plan ? (
            <span class="plan">
              would {plan.action} {plan.letters.length} letter(s)
              {plan.skipped.length
                ? `, skip ${plan.skipped.length} (${plan.skipped.map((s) => `#${s.id}: ${s.why}`).join('; ')})`
                : ''}{' '}
              <button type="button" class="danger" disabled={!plan.letters.length} onClick={() => bulk(true)}>
                Confirm {plan.action} of {plan.letters.length}
              </button>
            </span>
          ) : null}
          {done ? (
            <span class="muted">
              {done.action}: {done.letters.length} done
              {done.replayed ? ` (${done.replayed.map((r) => `#${r.id} ${r.outcome}`).join(', ')})` : ''}
            </span>
          ) : null}
          {fail ? <div class="notice error">{fail}</div> : null}
        </div>
      ) : null}
      <table class="grid">
        <thead>
          <tr>
            {p.me.may.operate ? <th /> : null}
            <th>#</th>
            <th>flow</th>
            <th>key</th>
            <th>stage</th>
            <th>error</th>
            <th>status</th>
            <th>assignee</th>
            <th>when</th>
          </tr>
        </thead>
        <tbody>
          {letters.map((l) => (
            <tr key={l.id}>
              {p.me.may.operate ? (
                <td>
                  <input
                    type="checkbox"
                    aria-label={`select ${l.id}`}
                    checked={picked.has(l.id)}
                    onChange={() => toggle(l.id)}
                  />
                </td>
              ) : null}
              <td>
                <Link href={`/dead-letters/${l.id}`}>#{l.id}</Link>
              </td>
              <td>{flowName(l.address)}</td>
              <td>
                <code>{l.key ?? '—'}</code>
              </td>
              <td>{l.stage}</td>
              <td class="err">{l.error}</td>
              <td>
                <Status status={l.status} />
                {l.edited ? <span class="badge">edited</span> : null}
              </td>
              <td>{l.assignee ?? ''}</td>
              <td>{ago(l.createdAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {data && !letters.length ? <div class="notice">No dead letters match.</div> : null}
    </section>
  );
}

export function DeadLetter(p: { id: string; me: Me }) {
  const [l, problem, reload] = useApi<Letter>(`/api/dead-letters/${enc(p.id)}`);
  const [text, setText] = useState<string>();
  const [reason, setReason] = useState('');
  const [to, setTo] = useState('');
  const [revision, setRevision] = useState('');
  const [msg, setMsg] = useState('');
  const [fail, setFail] = useState('');
  if (problem && !l) return <Problem error={problem} />;
  if (!l) return <div class="notice">Loading…</div>;
  const editing = text ?? JSON.stringify(l.edited ?? l.payload, null, 2);
  const act = async (path: string, body: Record<string, unknown>, say: (r: never) => string) => {
    setFail('');
    setMsg('');
    try {
      const r = await api<never>(`/api/dead-letters/${l.id}/${path}`, { method: 'POST', body });
      setMsg(say(r));
      setText(undefined);
      reload();
    } catch (e) {
      setFail((e as ApiError).message);
    }
  };
  const outcome = (r: { replayed?: { outcome: string; error?: string }[] }) =>
    r.replayed?.map((x) => (x.outcome === 'dead' ? `failed again: ${x.error}` : x.outcome)).join(', ') ?? 'done';
  let valid = true;
  try {
    JSON.parse(editing);
  } catch {
    valid = false;
  }
  const open = l.status === 'open';
  return (
    <section>
      <h1>
        Dead letter #{l.id} <Status status={l.status} />
      </h1>
      <dl class="facts">
        <dt>flow</dt>
        <dd>
          <Link href={`/flows/${enc(l.customer)}/${enc(l.address.split('/flow/')[1] ?? '')}`}>
            {flowName(l.address)}
          </Link>{' '}
          · revision {l.revision} · run #{l.runId ?? '—'}
        </dd>
        <dt>key</dt>
        <dd>
          <code>{l.key ?? '—'}</code> {l.key ? <Link href={`/journey?q=${enc(l.key)}`}>journey</Link> : null}
        </dd>
        <dt>failed</dt>
        <dd>
          at {l.stage}, {l.attempts} attempt(s), {ago(l.createdAt)}
        </dd>
        <dt>error</dt>
        <dd class="err">{l.error}</dd>
        <dt>assignee</dt>
        <dd>{l.assignee ?? 'nobody'}</dd>
        {l.resolvedAt ? (
          <>
            <dt>resolved</dt>
            <dd>
              {ago(l.resolvedAt)} by {l.resolvedBy} {describeResolution(l.resolution)}
            </dd>
          </>
        ) : null}
        {l.editedAt ? (
          <>
            <dt>edited</dt>
            <dd>
              {ago(l.editedAt)} by {l.editedBy}
            </dd>
          </>
        ) : null}
      </dl>
      {p.me.may.payloads ? (
        <div class="cols">
          <div>
            <h2>Payload as read (PII masked)</h2>
            <Json value={l.payload} />
          </div>
          {l.edited ? (
            <div>
              <h2>Edited (PII masked)</h2>
              <Json value={l.edited} />
            </div>
          ) : null}
        </div>
      ) : null}
      {p.me.may.operate && open ? (
        <div class="card actions">
          <h2>Act</h2>
          <label>
            Reason (kept in the audit log)
            <input value={reason} onInput={(e) => setReason((e.target as HTMLInputElement).value)} />
          </label>
          <div class="row">
            <input
              class="narrow"
              aria-label="revision"
              placeholder="revision"
              title="the revision to replay on (default: the current one)"
              value={revision}
              onInput={(e) => setRevision((e.target as HTMLInputElement).value.replace(/\D/g, ''))}
            />
            <button
              type="button"
              onClick={() =>
                act(
                  'replay',
                  { reason, ...(revision ? { revision: Number(revision) } : {}) },
                  (r) => `replayed: ${outcome(r)}`,
                )
              }
            >
              Replay
            </button>
            <button
              type="button"
              class="danger"
              disabled={!reason.trim()}
              onClick={() => act('discard', { reason }, () => 'discarded')}
            >
              Discard
            </button>
            <button
              type="button"
              disabled={!reason.trim()}
              onClick={() => act('resolve', { reason }, () => 'resolved')}
            >
              Resolve
            </button>
            <input placeholder="assign to" value={to} onInput={(e) => setTo((e.target as HTMLInputElement).value)} />
            <button
              type="button"
              disabled={!to.trim()}
              onClick={() => act('assign', { to, reason }, () => `assigned to ${to}`)}
            >
              Assign
            </button>
          </div>
          <h2>Edit and retry</h2>
          <p class="muted">
            A field left as "***" keeps its original (masked) value. The edit is kept beside the original.
          </p>
          <textarea
            aria-label="edited payload"
            rows={12}
            value={editing}
            onInput={(e) => setText((e.target as HTMLTextAreaElement).value)}
          />
          <div class="row">
            {!valid ? <span class="notice error">Not valid JSON.</span> : null}
            <button
              type="button"
              disabled={!valid}
              onClick={() =>
                act('edit', { payload: editing, reason, retry: true }, (r) => `edited and retried: ${outcome(r)}`)
              }
            >
              Save and retry
            </button>
          </div>
        </div>
      ) : null}
      {msg ? <div class="notice ok">{msg}</div> : null}
      {fail ? <div class="notice error">{fail}</div> : null}
      <p>
        <button type="button" class="link" onClick={() => go('/dead-letters')}>
          ← all dead letters
        </button>
      </p>
    </section>
  );
}
