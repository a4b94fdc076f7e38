// Consuming a byte stream chunk by chunk, as the producer made the chunks.
//
// `for await (const chunk of readable)` reads with `readable.read()`, which
// concatenates everything buffered into one new Buffer whenever the consumer
// fell behind: on a layer's way from zlib to tar that is a copy of most of
// the bytes and a fresh allocation each time (external memory, which is what
// drives V8's full collections during a pull). Listening to 'data' hands over
// the producer's own chunks; the stream is paused while the consumer's
// promise is pending, which is the same backpressure.
import { finished, type Readable } from 'node:stream';

/**
 * Call `consume` with every chunk of `stream`, in order. When it returns a
 * promise, no further chunk comes until that settles. Resolves after the
 * last chunk was consumed and the stream ended; rejects on the stream's
 * error, a premature close, or `consume` throwing or rejecting (the stream
 * is then destroyed).
 */
export function eachChunk(stream: Readable, consume: (chunk: Buffer) => Promise<void> | undefined): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let pending: Promise<void> | undefined;
    let settled = false;
    const fail = (err: unknown): void => {
      if (settled) return;
      settled = true;
      stream.off('data', onData);
      cleanup();
      stream.destroy();
      reject(err);
    };
    const onData = (chunk: Buffer): void => {
      let p: Promise<void> | undefined;
      try {
        p = consume(chunk);
      } catch (err) {
        fail(err);
        return;
      }
      if (!p) return;
      stream.pause();
      pending = p.then(() => {
        pending = undefined;
        if (!settled) stream.resume();
      }, (err: unknown) => {
        pending = undefined;
        fail(err);
      });
    };
    const cleanup = finished(stream, (err) => {
      if (err) {
        fail(err);
        return;
      }
      // The end can come while the last chunk is still being consumed.
      void (pending ?? Promise.resolve()).then(() => {
        if (settled) return;
        settled = true;
        cleanup();
        resolve();
      });
    });
    stream.on('data', onData);
  });
}
