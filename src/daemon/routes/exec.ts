// Exec endpoints: create, start (hijacked stream, stdcopy framing), resize, inspect.
import { Writable, type Duplex, type Readable } from 'node:stream';
import type { ServerResponse } from 'node:http';
import type { Router, RequestContext } from '../router.js';
import { sendJson, sendNoContent, readJsonBody, beginRawStream, frame, intParam, res, drained } from '../http-util.js';
import type { Engine } from '../engine.js';
import { InvalidParameterError, ConflictError } from '../../lib/errors.js';
import { validateExecConfig, ExecStartError } from '../../container/exec.js';
import { compareVersions } from '../version.js';

/**
 * The client side of an exec stream: writes wait while the socket is full
 * and are dropped once the client has gone, so a vanished client never
 * leaves the command blocked on its output.
 */
class ClientStream {
  private gone = false;

  constructor(readonly out: Duplex | ServerResponse) {
    out.on('close', () => { this.gone = true; });
    if (out.destroyed) this.gone = true;
  }

  writer(transform: (chunk: Buffer) => Buffer): Writable {
    return new Writable({
      write: (chunk: Buffer, _enc, cb) => {
        if (this.gone || this.out.write(transform(chunk))) cb();
        else void drained(this.out).then(() => cb());
      },
    });
  }
}

/**
 * The JSON body of a request that may have been upgraded: Node hands an
 * upgraded request's body over as raw bytes (`head`, then the socket), so
 * read Content-Length bytes and leave what follows (early stdin) in `head`.
 */
async function startBody(ctx: RequestContext): Promise<unknown> {
  const sock = ctx.upgradeSocket;
  if (!sock) return readJsonBody(ctx.req);
  const len = Number(ctx.req.headers['content-length'] ?? 0);
  let buf = ctx.upgradeHead ?? Buffer.alloc(0);
  if (buf.length < len) {
    await new Promise<void>((resolve, reject) => {
      const onData = (d: Buffer): void => {
        buf = Buffer.concat([buf, d]);
        if (buf.length < len) return;
        sock.off('data', onData);
        sock.off('error', reject);
        sock.pause();
        resolve();
      };
      sock.on('data', onData);
      sock.on('error', reject);
    });
  }
  ctx.upgradeHead = buf.subarray(len);
  const text = buf.subarray(0, len).toString().trim();
  if (!text) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new InvalidParameterError((err as Error).message);
  }
}

export function execRoutes(r: Router, engine: Engine): void {
  const execs = engine.execs;

  r.add('POST', '/containers/{id}/exec', async (ctx) => {
    const config = validateExecConfig(await readJsonBody(ctx.req));
    const id = execs.create(ctx.params.id!, config);
    sendJson(res(ctx), 201, { Id: id });
  });

  r.add('POST', '/exec/{id}/start', async (ctx) => {
    const body = (await startBody(ctx)) ?? {};
    if (typeof body !== 'object' || Array.isArray(body)) throw new InvalidParameterError('json: cannot unmarshal request body into exec start config');
    const { Detach, Tty } = body as { Detach?: unknown; Tty?: unknown };
    if ((Detach !== undefined && typeof Detach !== 'boolean') || (Tty !== undefined && typeof Tty !== 'boolean')) {
      throw new InvalidParameterError('json: cannot unmarshal into Go struct field ExecStartCheck of type bool');
    }
    const session = execs.get(ctx.params.id!);
    if (session.started) throw new ConflictError(`Error: Exec command ${session.id} is already running`);
    if (Detach) {
      await execs.start(session.id, {}, true);
      sendNoContent(res(ctx), 200);
      return;
    }
    // Errors up to here are plain HTTP errors; from here on they go into the stream.
    const contentType = compareVersions(ctx.apiVersion, '1.42') >= 0
      ? 'application/vnd.docker.multiplexed-stream' : 'application/vnd.docker.raw-stream';
    const out = beginRawStream(ctx, contentType);
    let stdin: Readable | undefined;
    if (ctx.upgradeSocket && session.config.AttachStdin) {
      const sock = ctx.upgradeSocket;
      if (ctx.upgradeHead?.length) sock.unshift(ctx.upgradeHead);
      stdin = sock;
    }
    // A TTY has one stream and no framing.
    const tty = session.config.Tty;
    const client = new ClientStream(out);
    const stdout = client.writer((c) => (tty ? c : frame(1, c)));
    const stderr = tty ? stdout : client.writer((c) => frame(2, c));
    try {
      await execs.start(session.id, { stdin, stdout, stderr }, false);
      // Let the framers hand their last chunks to the socket before it ends.
      await Promise.all([...new Set([stdout, stderr])].map((w) => new Promise<void>((resolve) => {
        w.end(() => resolve());
        w.on('error', () => resolve());
      })));
    } catch (err) {
      // Docker writes a start failure into the stream, on stdout, and ends it.
      const msg = err instanceof ExecStartError || err instanceof Error ? err.message : String(err);
      if (!out.destroyed) out.write(tty ? Buffer.from(msg + '\r\n') : frame(1, Buffer.from(msg + '\r\n')));
    }
    out.end();
  });

  r.add('POST', '/exec/{id}/resize', async (ctx) => {
    const session = execs.get(ctx.params.id!);
    const h = intParam(ctx.query, 'h');
    const w = intParam(ctx.query, 'w');
    if ((h !== undefined && h < 0) || (w !== undefined && w < 0)) throw new InvalidParameterError('invalid resize dimensions');
    // A process without a TTY has no window to resize; Docker accepts the call.
    await execs.resize(session.id, h ?? 0, w ?? 0);
    sendNoContent(res(ctx), 200);
  });

  r.add('GET', '/exec/{id}/json', async (ctx) => {
    const s = execs.get(ctx.params.id!);
    const c = s.config;
    sendJson(res(ctx), 200, {
      ID: s.id,
      Running: s.running,
      ExitCode: s.exitCode,
      ProcessConfig: { tty: c.Tty, entrypoint: c.Cmd[0], arguments: c.Cmd.slice(1), privileged: c.Privileged, user: c.User || undefined },
      OpenStdin: c.AttachStdin,
      OpenStderr: c.AttachStderr,
      OpenStdout: c.AttachStdout,
      CanRemove: s.canRemove,
      ContainerID: s.containerId,
      DetachKeys: c.DetachKeys,
      Pid: s.pid,
    });
  });
}
