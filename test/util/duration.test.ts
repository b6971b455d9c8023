/**
 * Durations: what parses (and what is too large to be one), and setLongTimeout, which waits in steps past the
 * 2^31 − 1 ms that one Node timer takes (a longer one fires at once: `rsync worker --for 25d` stopped at once).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { formatDuration, MAX_TIMER_MS, parseDuration, setLongTimeout } from '../../engine/util/duration.js';

describe('parseDuration', () => {
  it('reads a whole number and a unit', () => {
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('30s')).toBe(30_000);
    expect(parseDuration('25d')).toBe(25 * 86_400_000);
    expect(parseDuration(' 2h ')).toBe(7_200_000);
  });

  it('refuses anything else, and a number of milliseconds past Number.MAX_SAFE_INTEGER', () => {
    for (const bad of ['', '1', '1.5s', '-1s', '1w', 'd', '99999999999999999999d', '104249992d']) {
      expect(parseDuration(bad), bad).toBeUndefined();
    }
    expect(parseDuration(42)).toBeUndefined();
    expect(parseDuration('104249991d')).toBe(104_249_991 * 86_400_000);
  });

  it('formats as the largest units', () => {
    expect(formatDuration(90_000)).toBe('1m30s');
    expect(formatDuration(86_400_000)).toBe('1d');
    expect(formatDuration(1)).toBe('1ms');
  });
});

describe('setLongTimeout', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('waits the whole of a delay longer than one timer takes, and fires once', () => {
    vi.useFakeTimers();
    const fn = vi.fn();
    const ms = 25 * 86_400_000; // more than MAX_TIMER_MS
    expect(ms).toBeGreaterThan(MAX_TIMER_MS);
    setLongTimeout(fn, ms);
    vi.advanceTimersByTime(MAX_TIMER_MS);
    expect(fn).not.toHaveBeenCalled();
    vi.advanceTimersByTime(ms - MAX_TIMER_MS - 1);
    expect(fn).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(fn).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(10 * MAX_TIMER_MS);
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('fires a short delay as setTimeout does; clear() stops a long one between its steps', () => {
    vi.useFakeTimers();
    const short = vi.fn();
    setLongTimeout(short, 10);
    vi.advanceTimersByTime(10);
    expect(short).toHaveBeenCalledTimes(1);
    const long = vi.fn();
    const t = setLongTimeout(long, 3 * MAX_TIMER_MS).unref();
    vi.advanceTimersByTime(MAX_TIMER_MS + 5);
    t.clear();
    vi.advanceTimersByTime(5 * MAX_TIMER_MS);
    expect(long).not.toHaveBeenCalled();
  });
});

describe("the pipeline's retry wait", () => {
  afterEach(() => vi.useRealTimers());

  it('waits out a Retry-After past 24.8 days instead of firing at once, and stops on abort', async () => {
    vi.useFakeTimers();
    const { sleep } = await import('../../engine/runtime/pipeline.js');
    let done = false;
    const month = 30 * 24 * 3600 * 1000;
    void sleep(month).then(() => (done = true));
    await vi.advanceTimersByTimeAsync(MAX_TIMER_MS + 1000);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(month - MAX_TIMER_MS);
    expect(done).toBe(true);

    const stop = new AbortController();
    const waiting = sleep(month, stop.signal);
    stop.abort();
    await expect(waiting).rejects.toThrow('aborted');
  });
});
