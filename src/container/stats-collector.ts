// The previous stats sample that a CPU % needs, kept warm for containers
// someone is watching — what Docker's stats collector does with its
// one-second ticks. A `stats --no-stream` (stream=false) needs two samples a
// second apart; for a container asked about in the last KEEP_MS, the
// collector has one at most a tick old, so the answer comes at once instead of
// a second later. Containers nobody asks about are not sampled.
import type { StatsSample } from './stats.js';

export class StatsCollector {
  /** the two newest samples of each watched container, newest first */
  private readonly last = new Map<string, [StatsSample, StatsSample?]>();
  /** container id → when to stop sampling it (ms since the epoch) */
  private readonly watched = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly take: (id: string) => Promise<StatsSample | undefined>,
    private readonly keepMs = 30_000,
    private readonly tickMs = 1000,
  ) {}

  /** A sample taken now; the container is then sampled every tick for keepMs. */
  async now(id: string): Promise<StatsSample | undefined> {
    this.watched.set(id, Date.now() + this.keepMs);
    this.start();
    return this.remember(id, await this.take(id));
  }

  /**
   * A sample of `id` that can stand for "a tick ago": the newest unless it
   * is too fresh for a meaningful CPU delta, then the one before it.
   */
  recent(id: string): StatsSample | undefined {
    const age = (s: StatsSample): number => Date.now() - Date.parse(s.read);
    for (const s of this.last.get(id) ?? []) {
      if (s && age(s) >= this.tickMs / 4 && age(s) <= this.tickMs * 1.5) return s;
    }
    return undefined;
  }

  /** Stop sampling (daemon shutdown). */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.watched.clear();
    this.last.clear();
  }

  private remember(id: string, s: StatsSample | undefined): StatsSample | undefined {
    if (s) this.last.set(id, [s, this.last.get(id)?.[0]]);
    else this.last.delete(id);
    return s;
  }

  private start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.tick(), this.tickMs);
    // Never what keeps the daemon alive.
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    const now = Date.now();
    for (const [id, until] of this.watched) {
      if (until < now) {
        this.watched.delete(id);
        this.last.delete(id);
      }
    }
    if (this.watched.size === 0) {
      clearInterval(this.timer);
      this.timer = undefined;
      return;
    }
    await Promise.all([...this.watched.keys()].map(async (id) => {
      const s = await this.take(id).catch(() => undefined);
      // A container that stopped has no cgroup: stop watching it.
      if (!s) this.watched.delete(id);
      this.remember(id, s);
    }));
  }
}
