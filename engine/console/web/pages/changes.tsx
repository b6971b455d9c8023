import { useState } from 'preact/hooks';
import { type ApprovalView, ago, api, type ChangeEntry, enc, type Me } from '../api';
import { Json, Problem, useApi, useSubmit } from '../ui';

type Entry = ChangeEntry;

/** A plan awaiting approval: n of N approvals, who gave them, and an Approve button for those who may. */
function Pending(p: { plan: ApprovalView; me: Me; onDone: () => void }) {
  const [reason, setReason] = useState('');
  const { plan } = p;
  const { busy, error, onSubmit } = useSubmit(async () => {
    await api(`/api/approvals/${enc(plan.hash)}/approve`, { method: 'POST', body: { reason } });
    setReason('');
    p.onDone();
  });
  const have = plan.required - plan.missing;
  return (
    <div class="card approval">
      <h3>
        Plan <code class="sha">{plan.hash.slice(0, 12)}</code>
        {plan.commit ? (
          <>
            {' '}
            of <code class="sha">{plan.commit.slice(0, 12)}</code>
          </>
        ) : null}
      </h3>
      <p>
        <strong class="count">
          {have} of {plan.required} approvals
        </strong>{' '}
        · made by {plan.author} {ago(plan.createdAt)}
        {plan.separateAuthor ? ' (its author may not approve it)' : ''}
      </p>
      {plan.approvals.length ? (
        <ul class="approvers">
          {plan.approvals.map((a) => (
            <li key={a.approver}>
              {a.approver} · {ago(a.at)}
              {a.reason ? ` · “${a.reason}”` : ''}
            </li>
          ))}
        </ul>
      ) : null}
      <details>
        <summary>What it changes</summary>
        <Json value={plan.summary} />
      </details>
      {p.me.may.approve ? (
        <form class="approve" onSubmit={onSubmit}>
          <input
            aria-label="reason"
            placeholder="reason (kept in the audit log)"
            value={reason}
            onInput={(e) => setReason((e.target as HTMLInputElement).value)}
          />
          <button type="submit" disabled={busy}>
            Approve
          </button>
          {error ? <div class="notice error">{error}</div> : null}
        </form>
      ) : null}
    </div>
  );
}

export function Changes(p: { me: Me }) {
  const [data, error, reload] = useApi<{ entries: Entry[]; approvals: ApprovalView[] }>('/api/changes', 10_000);
  if (error && !data) return <Problem error={error} />;
  if (!data) return <div class="notice">Loading…</div>;
  return (
    <section>
      <h1>Changes</h1>
      <h2>Pending approvals</h2>
      {data.approvals.length ? (
        data.approvals.map((a) => <Pending key={a.hash} plan={a} me={p.me} onDone={reload} />)
      ) : (
        <div class="notice">No plan waits for approval.</div>
      )}
      <h2>Applies and promotions</h2>
      <table class="grid">
        <thead>
          <tr>
            <th>#</th>
            <th>what</th>
            <th>when</th>
            <th>who</th>
            <th>commit</th>
            <th>summary</th>
          </tr>
        </thead>
        <tbody>
          {data.entries.map((e) => (
            <tr key={e.n}>
              <td>{e.n}</td>
              <td>{e.action}</td>
              <td>{ago(e.at)}</td>
              <td>{e.actor}</td>
              <td>
                {e.commit ? <code class="sha">{e.commit.slice(0, 12)}</code> : '—'}
                {e.ref ? ` (${e.ref})` : ''}
              </td>
              <td>
                <details>
                  <summary>{e.summary}</summary>
                  <ul class="changes">
                    {e.changes.map((c) => (
                      <li>
                        <code>{c}</code>
                      </li>
                    ))}
                  </ul>
                </details>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {!data.entries.length ? <div class="notice">Nothing applied yet.</div> : null}
    </section>
  );
}
