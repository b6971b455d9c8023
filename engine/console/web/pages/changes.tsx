import { ago, type ChangeEntry } from '../api';
import { Json, Problem, useApi } from '../ui';

type Entry = ChangeEntry;

export function Changes() {
  const [data, error] = useApi<{ entries: Entry[]; approvals: Record<string, unknown>[] }>('/api/changes', 10_000);
  if (error && !data) return <Problem error={error} />;
  if (!data) return <div class="notice">Loading…</div>;
  return (
    <section>
      <h1>Changes</h1>
      <h2>Pending approvals</h2>
      {data.approvals.length ? <Json value={data.approvals} /> : <div class="notice">No plan waits for approval.</div>}
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
