/**
 * Progress for long work: a bar on a terminal, nothing in --json, in CI or when stderr is not a terminal.
 */
export interface Progress {
  update(done: number, total: number): void;
  done(): void;
}

export function progress(label: string, enabled: boolean): Progress {
  const on = enabled && Boolean(process.stderr.isTTY) && !process.env.CI;
  let last = -1;
  let started = 0;
  return {
    update(done, total) {
      if (!on || total < 50) return;
      if (!started) started = Date.now();
      const pct = Math.floor((done / total) * 100);
      if (pct === last) return;
      last = pct;
      const width = 30;
      const fill = Math.round((done / total) * width);
      process.stderr.write(`\r${label} [${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${done}/${total} (${pct}%)`);
    },
    done() {
      if (on && last >= 0) process.stderr.write(`\r${' '.repeat(label.length + 60)}\r`);
    },
  };
}
