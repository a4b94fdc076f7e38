// Processes for TestRegistry: `token PORT KEY CERT USER PASSWORD` serves
// bearer tokens (RS256 JWTs carrying the certificate in x5c, as distribution
// verifies them); `proxy PORT UPSTREAM CUT LOG` forwards to the registry and
// breaks the first transfer of each blob after CUT bytes; `search PORT LOG`
// is an index with a v1 search endpoint (two fixed results) and a /v2/ that
// takes the login u:p, logging each search and its Authorization to LOG.
import http from 'node:http';
import { createSign, randomBytes, X509Certificate } from 'node:crypto';
import { readFileSync, appendFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { gzipSync, gunzipSync } from 'node:zlib';

const sha = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** A ustar header for one small regular file. */
function tarHeader(name: string, size: number): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0);
  h.write('0000644\0', 100);
  h.write('0000000\0', 108);
  h.write('0000000\0', 116);
  h.write(size.toString(8).padStart(11, '0') + '\0', 124);
  h.write('00000000000\0', 136);
  h.write('        ', 148);
  h.write('0', 156);
  h.write('ustar\0', 257);
  h.write('00', 263);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
  return h;
}

const [mode, portArg, ...rest] = process.argv.slice(2);
const port = Number(portArg);
const b64url = (b: Buffer | string): string => Buffer.from(b).toString('base64url');

if (mode === 'token') {
  const [keyFile, certFile, user, password] = rest as [string, string, string, string];
  const key = readFileSync(keyFile, 'utf8');
  const der = new X509Certificate(readFileSync(certFile)).raw;
  http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/health') { res.end('ok'); return; }
    const authz = req.headers.authorization ?? '';
    let who = '';
    if (authz.startsWith('Basic ')) {
      const [u, p] = Buffer.from(authz.slice(6), 'base64').toString().split(/:(.*)/s);
      if (u !== user || p !== password) {
        res.writeHead(401, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'incorrect username or password' }] }));
        return;
      }
      who = u;
    }
    // Anonymous users get a token with no access: the registry then refuses them.
    const access = who ? url.searchParams.getAll('scope').flatMap((s) => s.split(' ')).filter(Boolean).map((s) => {
      const parts = s.split(':');
      return { type: parts[0], name: parts.slice(1, -1).join(':'), actions: parts[parts.length - 1]!.split(',') };
    }) : [];
    const now = Math.floor(Date.now() / 1000);
    const header = { alg: 'RS256', typ: 'JWT', x5c: [der.toString('base64')] };
    const claims = { iss: 'berth-test', sub: who, aud: url.searchParams.get('service'), exp: now + 600, nbf: now - 10, iat: now, jti: randomBytes(8).toString('hex'), access };
    const signing = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    const sig = createSign('RSA-SHA256').update(signing).sign(key);
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ token: `${signing}.${b64url(sig)}`, expires_in: 600 }));
  }).listen(port, '127.0.0.1');
} else if (mode === 'proxy') {
  const [upstreamPort, cutArg, logFile, rateArg] = rest as [string, string, string, string | undefined];
  const cut = Number(cutArg);
  // Bytes per second for blob bodies (0: as fast as the registry sends them).
  const rate = Number(rateArg ?? 0);
  const broken = new Set<string>();
  http.createServer((req, res) => {
    const isBlobGet = req.method === 'GET' && /\/blobs\/sha256:/.test(req.url ?? '');
    appendFileSync(logFile, `${req.method} ${req.url} range=${req.headers.range ?? ''}\n`);
    const up = http.request({ host: '127.0.0.1', port: Number(upstreamPort), method: req.method, path: req.url, headers: req.headers }, (ur) => {
      res.writeHead(ur.statusCode ?? 502, ur.headers);
      const key = req.url ?? '';
      if (isBlobGet && rate > 0) {
        ur.on('data', (d: Buffer) => {
          ur.pause();
          res.write(d);
          setTimeout(() => ur.resume(), Math.ceil((d.length / rate) * 1000));
        });
        ur.on('end', () => res.end());
        return;
      }
      if (!isBlobGet || cut <= 0 || broken.has(key) || Number(ur.headers['content-length'] ?? 0) <= cut) {
        ur.pipe(res);
        return;
      }
      broken.add(key);
      let sent = 0;
      ur.on('data', (d: Buffer) => {
        if (sent >= cut) return;
        const part = d.subarray(0, cut - sent);
        sent += part.length;
        res.write(part);
        if (sent >= cut) {
          appendFileSync(logFile, `CUT ${req.url} at ${sent}\n`);
          ur.destroy();
          res.socket?.destroy();
        }
      });
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  }).listen(port, '127.0.0.1');
} else if (mode === 'search') {
  const [logFile] = rest as [string];
  const results = [
    { name: 'team/busybox', description: 'A busybox for the team, with a description longer than forty-five characters\nand a second line', star_count: 12, is_official: false, is_automated: true },
    { name: 'busybox', description: 'Busybox base image.', star_count: 3400, is_official: true, is_automated: false },
  ];
  http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/v2/') {
      const ok = req.headers.authorization === `Basic ${Buffer.from('u:p').toString('base64')}`;
      res.writeHead(ok ? 200 : 401, ok ? {} : { 'WWW-Authenticate': 'Basic realm="search"' }).end();
      return;
    }
    if (url.pathname !== '/v1/search') {
      res.writeHead(404).end();
      return;
    }
    appendFileSync(logFile, `${JSON.stringify({ path: `${url.pathname}${url.search}`, auth: req.headers.authorization ?? null })}\n`);
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ num_results: 2, query: url.searchParams.get('q'), results: results.slice(0, Number(url.searchParams.get('n'))) }));
  }).listen(port, '127.0.0.1');
} else if (mode === 'fake') {
  // A registry that misbehaves on purpose, one repository per kind of trouble.
  const layer = gzipSync(Buffer.concat([tarHeader('hello', 6), Buffer.from('hello\n'), Buffer.alloc(506), Buffer.alloc(1024)]));
  const diffId = sha(gunzipSync(layer));
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [diffId] } }));
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha(config), size: config.length },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha(layer), size: layer.length }],
  }));
  const send = (res: http.ServerResponse, status: number, body: string | Buffer, type = 'application/json'): void => {
    res.writeHead(status, { 'Content-Type': type });
    res.end(body);
  };
  const err = (code: string, message: string): string => JSON.stringify({ errors: [{ code, message }] });
  http.createServer((req, res) => {
    const m = /^\/v2\/bad\/([a-z]+)\/(manifests|blobs)\/(.+)$/.exec(req.url ?? '');
    if (req.url === '/v2/') return send(res, 200, '{}');
    if (!m) return send(res, 404, err('NAME_UNKNOWN', 'repository name not known to registry'));
    const [, kind, what, ref] = m as unknown as [string, string, string, string];
    if (what === 'manifests') {
      switch (kind) {
        case 'json': return send(res, 200, '{ this is not json', 'application/vnd.oci.image.manifest.v1+json');
        case 'mediatype': return send(res, 200, JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.example.unknown+json' }), 'application/vnd.example.unknown+json');
        case 'ratelimit': return send(res, 429, err('TOOMANYREQUESTS', 'You have reached your pull rate limit.'));
        case 'server': return send(res, 500, 'oops', 'text/plain');
        case 'forbidden': return send(res, 403, err('DENIED', 'requested access to the resource is denied'));
        default: return send(res, 200, manifest, 'application/vnd.oci.image.manifest.v1+json');
      }
    }
    if (ref === sha(config)) return send(res, 200, config, 'application/octet-stream');
    if (ref === sha(layer)) {
      // `digest`: the bytes do not match the digest; `flaky`: 503 for every blob.
      if (kind === 'digest') return send(res, 200, gzipSync(Buffer.from('something else entirely')), 'application/octet-stream');
      if (kind === 'flaky') return send(res, 503, err('UNAVAILABLE', 'service unavailable'));
      return send(res, 200, layer, 'application/octet-stream');
    }
    return send(res, 404, err('BLOB_UNKNOWN', 'blob unknown to registry'));
  }).listen(port, '127.0.0.1');
} else {
  process.stderr.write(`unknown mode ${mode}\n`);
  process.exit(2);
}
