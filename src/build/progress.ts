// What a build reports for a BuildKit-style display: vertices (the steps the
// user recognises: `[2/5] COPY . /app`, `exporting to image`), each started,
// cached, done or failed, with its output and its sub-steps (`=> => naming to
// …`). The daemon sends these on POST /build when the berth CLI asks for them;
// the CLI draws them (src/cli/build-display.ts). Times are milliseconds since
// the epoch on the daemon's clock.

/** The `id` of the aux messages that carry build events on POST /build. */
export const BUILD_EVENT_ID = 'berth.build.event';

export interface BuildEvent {
  /** the vertex this event is about */
  v: string;
  /** set on the first event of a vertex */
  name?: string;
  /** the Dockerfile line the vertex comes from, for error excerpts */
  line?: number;
  started?: number;
  completed?: number;
  cached?: boolean;
  /** the failure, in BuildKit's words */
  error?: string;
  /** output, as it comes (never clipped) */
  log?: string;
  /** a sub-step: `naming to docker.io/library/app:v1`; `done` once it has finished */
  sub?: { name: string; done: boolean };
}

export type BuildEventSink = (e: BuildEvent) => void;

/** One vertex: a handle that turns calls into events. */
export class Vertex {
  private finished = false;

  constructor(private readonly sink: BuildEventSink, readonly id: string, name: string, line?: number, started = Date.now()) {
    sink({ v: id, name, ...(line !== undefined ? { line } : {}), started });
  }

  log(text: string): void {
    if (text) this.sink({ v: this.id, log: text });
  }

  sub(name: string, done = true): void {
    this.sink({ v: this.id, sub: { name, done } });
  }

  cached(): void {
    if (this.finished) return;
    this.finished = true;
    this.sink({ v: this.id, cached: true, completed: Date.now() });
  }

  done(error?: string): void {
    if (this.finished) return;
    this.finished = true;
    this.sink({ v: this.id, completed: Date.now(), ...(error !== undefined ? { error } : {}) });
  }
}

/** Hands out vertex ids in order; a sink that drops everything when nobody listens. */
export class BuildEvents {
  private next = 0;

  private readonly sink: BuildEventSink;

  constructor(sink?: BuildEventSink) {
    this.sink = sink ?? (() => undefined);
  }

  /** `started`: when the work began, if that was before now (the context's upload) */
  vertex(name: string, line?: number, started?: number): Vertex {
    return new Vertex(this.sink, `v${++this.next}`, name, line, started);
  }
}
