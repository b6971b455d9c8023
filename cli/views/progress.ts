/**
 * Progress for long work: a bar on a terminal, nothing in --json, in CI or when stderr is not a terminal.
 * `stages` is for work whose steps are known but not their sizes (validate of 20,000 files, plan): the step it is
 * on, with its number and the time so far, on one line that is cleared when the work ends.
 */
export interface Progress {
  update(done: number, total: number): void;
  done(): void;
}

/** Whether progress is shown: asked for, stderr a terminal, and not in CI. */
const shown = (enabled: boolean) => enabled && Boolean(process.stderr.isTTY) && !process.env.CI;

export function progress(label: string, enabled: boolean): Progress {
  const on = shown(enabled);
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

export interface Stages {
  /** The work moved on to this step. */
  stage(name: string): void;
  /** How far the current step is: `done` of `total` items (files, customers), shown at most ten times a second. */
  count(done: number, total: number, unit: string): void;
  done(): void;
}

export function stages(label: string, steps: readonly string[], enabled: boolean): Stages {
  const on = shown(enabled);
  const started = Date.now();
  let width = 0;
  let current = '';
  let shownAt = 0;
  const write = (extra: string) => {
    const at = steps.indexOf(current);
    const line = `${label} [${at + 1}/${steps.length}] ${current}…${extra} (${((Date.now() - started) / 1000).toFixed(1)}s)`;
    process.stderr.write(`\r${line.padEnd(width)}`);
    width = Math.max(width, line.length);
  };
  return {
    stage(name) {
      if (!on) return;
      current = name;
      write('');
    },
    count(done, total, unit) {
      if (!on || (done < total && Date.now() - shownAt < 100)) return;
      shownAt = Date.now();
      write(` ${done.toLocaleString('en-US')}/${total.toLocaleString('en-US')} ${unit}`);
    },
    done() {
      if (on && width) process.stderr.write(`\r${' '.repeat(width)}\r`);
    },
  };
}
