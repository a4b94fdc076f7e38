// Processes for TestRegistry: `token PORT KEY CERT USER PASSWORD` serves
// bearer tokens (RS256 JWTs carrying the certificate in x5c, as distribution
// verifies them); `proxy PORT UPSTREAM CUT LOG` forwards to the registry and
// breaks the first transfer of each blob after CUT bytes.
import http from 'node:http';
import { createSign, randomBytes, X509Certificate } from 'node:crypto';
import { readFileSync, appendFileSync } from 'node:fs';

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
} else {
  process.stderr.write(`unknown mode ${mode}\n`);
  process.exit(2);
}
