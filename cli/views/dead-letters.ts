/** Dead letters as text: one line each (`rsync dlq list`, `show`). */
import type { DeadLetter } from '../../engine/state/dead-letters.js';
import { table } from '../runtime.js';

export function renderDeadLetters(letters: DeadLetter[]): string {
  return table(
    ['ID', 'FLOW', 'REV', 'KEY', 'STAGE', 'ATTEMPTS', 'STATUS', 'ERROR'],
    letters.map((l) => [
      String(l.id),
      l.address.replace('/flow/', '/'),
      String(l.revision),
      l.key ?? '-',
      l.stage,
      String(l.attempts),
      l.status,
      l.error.length > 100 ? l.error.slice(0, 97) + '...' : l.error,
    ]),
  );
}
