// Networks with real bridges, veths, iptables rules and traffic: the default
// bridge, published ports, user-defined networks with name resolution,
// isolation, connect/disconnect, and nothing left behind after rm and crashes.
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import dgram from 'node:dgram';
import { readFileSync, existsSync } from 'node:fs';
import net from 'node:net';
import http from 'node:http';
import { join } from 'node:path';
import { ROOT, Daemon, daemonWithBusybox, hasDockerCli, eventually, networkObjects, removeBridge, sleep } from './harness.js';

const d = daemonWithBusybox();

/** A port nobody listens on now (the kernel picks it). */
function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '0.0.0.0', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

function httpGet(host: string, port: number, path = '/hostname', timeoutMs = 3000): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host, port, path, timeout: timeoutMs }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => { body += c.toString(); });
      res.on('end', () => resolve(body));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

/** The host's first non-loopback IPv4 address. */
function hostAddress(): string | undefined {
  const outText = execFileSync('ip', ['-4', '-o', 'addr', 'show', 'scope', 'global'], { encoding: 'utf8' });
  for (const line of outText.split('\n')) {
    const m = /^\d+:\s+(\S+)\s+inet\s+([\d.]+)\//.exec(line);
    if (m && !m[1]!.startsWith('bt') && !m[1]!.startsWith('br-') && m[1] !== 'docker0' && !m[1]!.startsWith('berth')) return m[2];
  }
  return undefined;
}

function ourNetns(): string[] {
  const prefix = `berth-${readFileSync(join(d.dataRoot, 'engine-id'), 'utf8').trim().slice(0, 8)}-`;
  return networkObjects().netns.filter((n) => n.startsWith(prefix));
}

function natRules(): string {
  return spawnSync('iptables-save', ['-t', 'nat'], { encoding: 'utf8' }).stdout;
}

const httpd = (port = 80): string[] => ['busybox', 'httpd', '-f', '-p', String(port), '-h', '/etc'];

describe('default bridge', () => {
  test('a container gets an address, a route and its own /etc/hosts line', () => {
    const r = d.berth(['run', '--rm', '--hostname', 'box', 'busybox', 'sh', '-c',
      'ip -4 -o addr show eth0; ip route; cat /etc/hosts; cat /etc/hostname']);
    assert.equal(r.code, 0, r.stderr);
    const ip = /inet ([\d.]+)\/(\d+)/.exec(r.stdout);
    assert.ok(ip, r.stdout);
    assert.match(r.stdout, /default via [\d.]+ dev eth0/);
    assert.match(r.stdout, new RegExp(`^${ip![1]!.replaceAll('.', '\\.')}\\tbox$`, 'm'));
    const bridge = JSON.parse(d.berth(['network', 'inspect', 'bridge']).stdout) as [{ IPAM: { Config: { Subnet: string; Gateway: string }[] }; Options: Record<string, string> }];
    assert.equal(bridge[0].Options['com.docker.network.bridge.name'], d.bridge);
    assert.match(r.stdout, new RegExp(`default via ${bridge[0].IPAM.Config[0]!.Gateway.replaceAll('.', '\\.')} `));
  });

  test('two containers reach each other by address, not by name', async () => {
    const a = d.berth(['run', '-d', '--name', 'peer-a', ...httpd()]);
    assert.equal(a.code, 0, a.stderr);
    const ip = d.berth(['inspect', '-f', '{{.NetworkSettings.IPAddress}}', 'peer-a']).stdout.trim();
    assert.match(ip, /^\d+\.\d+\.\d+\.\d+$/);
    const r = d.berth(['run', '--rm', 'busybox', 'sh', '-c', `wget -q -O- http://${ip}/hostname; nslookup peer-a >/dev/null 2>&1 && echo resolved || echo unresolved`]);
    assert.equal(r.stdout, `${a.stdout.trim().slice(0, 12)}\nunresolved\n`, r.stderr);
    d.berth(['rm', '-f', 'peer-a']);
  });

  test('a stopped container keeps its network but not its address', async () => {
    const r = d.berth(['run', '--name', 'gone', 'busybox', 'true']);
    assert.equal(r.code, 0, r.stderr);
    const info = JSON.parse(d.berth(['inspect', 'gone']).stdout) as [{ NetworkSettings: { IPAddress: string; Networks: Record<string, { IPAddress: string; NetworkID: string }> } }];
    assert.equal(info[0].NetworkSettings.IPAddress, '');
    assert.deepEqual(Object.keys(info[0].NetworkSettings.Networks), ['bridge']);
    assert.equal(info[0].NetworkSettings.Networks.bridge!.IPAddress, '');
    assert.match(info[0].NetworkSettings.Networks.bridge!.NetworkID, /^[0-9a-f]{64}$/);
    d.berth(['rm', 'gone']);
  });

  test('--network none has loopback only; host shares the host\'s interfaces', () => {
    const none = d.berth(['run', '--rm', '--network', 'none', 'busybox', 'ls', '/sys/class/net']);
    assert.equal(none.stdout, 'lo\n', none.stderr);
    const host = d.berth(['run', '--rm', '--network', 'host', 'busybox', 'ls', '/sys/class/net']);
    assert.ok(host.stdout.split('\n').includes(d.bridge), host.stdout);
    const hostname = d.berth(['run', '--rm', '--net', 'host', 'busybox', 'hostname']);
    assert.equal(hostname.stdout.trim(), execFileSync('hostname', { encoding: 'utf8' }).trim());
  });

  test('--network container:NAME shares the other container\'s address', () => {
    d.berth(['run', '-d', '--name', 'owner', 'busybox', 'sleep', '1000']);
    const ip = d.berth(['inspect', '-f', '{{.NetworkSettings.IPAddress}}', 'owner']).stdout.trim();
    const r = d.berth(['run', '--rm', '--network', 'container:owner', 'busybox', 'ip', '-4', '-o', 'addr', 'show', 'eth0']);
    assert.match(r.stdout, new RegExp(`inet ${ip.replaceAll('.', '\\.')}/`), r.stderr);
    d.berth(['rm', '-f', 'owner']);
  });

  test('--dns, --dns-search, --dns-option and --add-host write the files', () => {
    const r = d.berth(['run', '--rm', '--dns', '192.0.2.53', '--dns-search', 'corp.example', '--dns-option', 'ndots:2',
      '--add-host', 'db.local:10.1.2.3', '--add-host', 'hostgw:host-gateway', 'busybox', 'sh', '-c', 'cat /etc/resolv.conf /etc/hosts']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^nameserver 192\.0\.2\.53\nsearch corp\.example\noptions ndots:2\n/);
    assert.match(r.stdout, /^10\.1\.2\.3\tdb\.local$/m);
    const gw = d.berth(['network', 'inspect', '-f', '{{range .IPAM.Config}}{{.Gateway}}{{end}}', 'bridge']).stdout.trim();
    assert.match(r.stdout, new RegExp(`^${gw.replaceAll('.', '\\.')}\\thostgw$`, 'm'));
    const bad = d.berth(['run', '--rm', '--add-host', 'x:notanip', 'busybox', 'true']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /invalid IP address in add-host: "notanip"/);
  });
});

describe('published ports', () => {
  test('-p carries traffic from 127.0.0.1 and the host address; port and ps show it; stop releases it', async () => {
    const port = await freePort();
    const r = d.berth(['run', '-d', '--name', 'pub', '-p', `${port}:80`, ...httpd()]);
    assert.equal(r.code, 0, r.stderr);
    const short = r.stdout.trim().slice(0, 12);
    assert.equal(await eventually(() => httpGet('127.0.0.1', port).catch(() => '')), `${short}\n`);
    const addr = hostAddress();
    if (addr) assert.equal(await httpGet(addr, port), `${short}\n`);
    assert.equal(d.berth(['port', 'pub']).stdout, `80/tcp -> 0.0.0.0:${port}\n`);
    assert.equal(d.berth(['port', 'pub', '80']).stdout, `0.0.0.0:${port}\n`);
    const miss = d.berth(['port', 'pub', '81']);
    assert.equal(miss.code, 1);
    assert.match(miss.stderr, /No public port '81\/tcp' published for pub/);
    assert.match(d.berth(['ps', '--filter', 'name=pub']).stdout, new RegExp(`0\\.0\\.0\\.0:${port}->80/tcp\\s+pub`));
    assert.match(natRules(), new RegExp(`--dport ${port} .*berth:${short}`));
    assert.equal(d.berth(['stop', '-t', '0', 'pub']).code, 0);
    assert.doesNotMatch(natRules(), new RegExp(`berth:${short}`));
    await assert.rejects(httpGet('127.0.0.1', port, '/', 1000));
    // The port is free again for anyone.
    await new Promise<void>((resolve, reject) => {
      const s = net.createServer().once('error', reject).listen(port, '0.0.0.0', () => s.close(() => resolve()));
    });
    assert.equal(d.berth(['start', 'pub']).code, 0);
    assert.equal(await eventually(() => httpGet('127.0.0.1', port).catch(() => '')), `${short}\n`);
    d.berth(['rm', '-f', 'pub']);
  });

  test('a port taken by another container or by a host process gives Docker\'s errors', async () => {
    const port = await freePort();
    assert.equal(d.berth(['run', '-d', '--name', 'holder', '-p', `${port}:80`, ...httpd()]).code, 0);
    const before = ourNetns().length;
    const r = d.berth(['run', '-d', '--name', 'second', '-p', `${port}:80`, ...httpd()]);
    assert.equal(r.code, 125);
    assert.match(r.stderr, new RegExp(`Bind for 0\\.0\\.0\\.0:${port} failed: port is already allocated`));
    assert.equal(d.berth(['inspect', '-f', '{{.State.Status}}', 'second']).stdout.trim(), 'created');
    assert.equal(ourNetns().length, before, 'the failed start left no namespace');
    // The ports are published while runc creates the container: the one it
    // created is gone again, monitor and all.
    const secondId = d.berth(['inspect', '-f', '{{.Id}}', 'second']).stdout.trim();
    const runtimeState = spawnSync('runc', ['--root', join(d.execRoot, 'runtime'), 'list', '-q'], { encoding: 'utf8' }).stdout;
    assert.doesNotMatch(runtimeState, new RegExp(secondId), 'no runc container left of the failed start');
    const noMonitor = (): boolean => spawnSync('pgrep', ['-f', `conmon.*${secondId}`]).status === 1;
    assert.ok(await eventually(noMonitor, 5000), 'no conmon left of the failed start');
    d.berth(['rm', '-f', 'holder', 'second']);

    const other = await freePort();
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(other, '0.0.0.0', resolve));
    try {
      const h = d.berth(['run', '--rm', '-p', `${other}:80`, 'busybox', 'true']);
      assert.equal(h.code, 125);
      assert.match(h.stderr, new RegExp(`0\\.0\\.0\\.0:${other}: bind: address already in use`));
    } finally {
      server.close();
    }
  });

  test('-P publishes exposed ports on random host ports; 127.0.0.1:: binds loopback only', async () => {
    // As in Docker, -P gives random ports only to exposed ports that -p left alone.
    const r = d.berth(['run', '-d', '--name', 'rand', '--expose', '80', '--expose', '8080', '-P', '-p', '127.0.0.1::80', ...httpd(8080)]);
    assert.equal(r.code, 0, r.stderr);
    const lines = d.berth(['port', 'rand']).stdout.trim().split('\n');
    assert.equal(lines.length, 2, lines.join('\n'));
    assert.match(lines[0]!, /^80\/tcp -> 127\.0\.0\.1:\d+$/);
    const m = /^8080\/tcp -> 0\.0\.0\.0:(\d+)$/.exec(lines[1]!);
    assert.ok(m, lines[1]);
    assert.equal(await eventually(() => httpGet('127.0.0.1', Number(m![1])).catch(() => '')), `${r.stdout.trim().slice(0, 12)}\n`);
    d.berth(['rm', '-f', 'rand']);
  });

  test('UDP: a published udp port carries datagrams both ways', async () => {
    const port = await freePort();
    const r = d.berth(['run', '-d', '--name', 'udp', '-p', `${port}:5300/udp`, 'busybox', 'sleep', '1000']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(d.berth(['port', 'udp']).stdout, `5300/udp -> 0.0.0.0:${port}\n`);
    // busybox has no UDP server: an echo server runs in the container's network namespace instead.
    const sandbox = d.berth(['inspect', '-f', '{{.NetworkSettings.SandboxKey}}', 'udp']).stdout.trim();
    const echo = spawn('nsenter', [`--net=${sandbox}`, process.execPath, '-e',
      "const s=require('dgram').createSocket('udp4');s.on('message',(m,r)=>s.send(Buffer.concat([Buffer.from('echo:'),m]),r.port,r.address));s.bind(5300,()=>console.log('ready'))"],
    { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await new Promise((resolve) => echo.stdout!.once('data', resolve));
      const ask = (host: string): Promise<string> => new Promise((resolve, reject) => {
        const s = dgram.createSocket('udp4');
        const t = setTimeout(() => { s.close(); reject(new Error('no answer')); }, 3000);
        s.on('message', (m) => { clearTimeout(t); s.close(); resolve(m.toString()); });
        s.send('ping', port, host);
      });
      assert.equal(await ask('127.0.0.1'), 'echo:ping');
      const addr = hostAddress();
      if (addr) assert.equal(await ask(addr), 'echo:ping');
    } finally {
      echo.kill();
    }
    d.berth(['rm', '-f', 'udp']);
  });

  test('ps filters by network, published and exposed port, and volume', async () => {
    const port = await freePort();
    d.berth(['network', 'create', 'filter-net']);
    const a = d.berth(['run', '-d', '--name', 'fa', '-p', `${port}:80`, '--expose', '9000/udp', '-v', 'fvol:/data', 'busybox', 'sleep', '1000']).stdout.trim();
    const b = d.berth(['run', '-d', '--name', 'fb', '--network', 'filter-net', 'busybox', 'sleep', '1000']).stdout.trim();
    const q = (...f: string[]): string => d.berth(['ps', '-q', '--no-trunc', ...f.flatMap((x) => ['--filter', x])]).stdout.trim();
    assert.equal(q('network=filter-net'), b);
    assert.equal(q('network=bridge', 'name=f'), a);
    // publish= is the host port, as dockerd matches it; expose= the container's.
    assert.equal(q(`publish=${port}`), a);
    assert.equal(q(`publish=${port - 1}-${port + 1}/tcp`), a);
    assert.equal(q(`publish=${port}/udp`), '');
    assert.equal(q('publish=80'), '');
    assert.equal(q('expose=9000/udp'), a);
    assert.equal(q('expose=80'), a, '-p exposes the port too');
    assert.equal(q('volume=fvol'), a);
    assert.equal(q('volume=/data'), a);
    assert.match(d.berth(['ps', '--filter', 'publish=x']).stderr, /invalid filter value: x/);
    d.berth(['rm', '-f', 'fa', 'fb']);
    d.berth(['network', 'rm', 'filter-net']);
    d.berth(['volume', 'rm', 'fvol']);
  });

  test('bad -p values are refused before anything is created', () => {
    for (const [spec, msg] of [['abc', /Invalid containerPort: abc/], ['70000:80', /Invalid hostPort: 70000/], ['1.2.3:80:80', /Invalid ip address: 1\.2\.3/], ['80/sctpx', /Invalid proto: sctpx/]] as const) {
      const r = d.berth(['run', '--rm', '-p', spec, 'busybox', 'true']);
      assert.equal(r.code, 125, spec);
      assert.match(r.stderr, msg);
    }
  });

  test('the docker CLI sees the same ports', { skip: !hasDockerCli() }, async () => {
    const port = await freePort();
    const r = d.docker(['run', '-d', '--name', 'dpub', '-p', `127.0.0.1:${port}:80`, ...httpd()]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(d.docker(['port', 'dpub']).stdout.trim(), `80/tcp -> 127.0.0.1:${port}`);
    assert.match(d.docker(['ps']).stdout, new RegExp(`127\\.0\\.0\\.1:${port}->80/tcp`));
    assert.equal(await eventually(() => httpGet('127.0.0.1', port).catch(() => '')), `${r.stdout.trim().slice(0, 12)}\n`);
    d.docker(['rm', '-f', 'dpub']);
  });
});

describe('user-defined networks', () => {
  after(() => {
    for (const c of ['api', 'client2', 'outsider', 'iso1', 'iso2']) d.berth(['rm', '-f', c]);
    for (const n of ['app-net', 'other-net', 'closed']) d.berth(['network', 'rm', n]);
  });

  test('containers find each other by name, alias and short id', () => {
    const c = d.berth(['network', 'create', 'app-net']);
    assert.equal(c.code, 0, c.stderr);
    assert.match(c.stdout, /^[0-9a-f]{64}\n$/);
    const api = d.berth(['run', '-d', '--name', 'api', '--network', 'app-net', '--network-alias', 'backend', ...httpd(8000)]);
    assert.equal(api.code, 0, api.stderr);
    const short = api.stdout.trim().slice(0, 12);
    const r = d.berth(['run', '--rm', '--network', 'app-net', 'busybox', 'sh', '-c',
      `cat /etc/resolv.conf; for n in api backend ${short} api.app-net; do wget -q -O- http://$n:8000/hostname; done`]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `nameserver 127.0.0.11\noptions ndots:0\n${`${short}\n`.repeat(4)}`);
    const names = d.berth(['inspect', '-f', '{{json .NetworkSettings.Networks}}', 'api']).stdout;
    const ep = (JSON.parse(names) as Record<string, { Aliases: string[]; DNSNames: string[] }>)['app-net']!;
    assert.deepEqual(ep.Aliases, ['backend']);
    assert.deepEqual(ep.DNSNames, ['api', 'backend', short]);
  });

  test('unknown names are refused locally and other names go to the host\'s resolvers', () => {
    const r = d.berth(['run', '--rm', '--network', 'app-net', 'busybox', 'sh', '-c', 'nslookup nosuchcontainer 127.0.0.11; echo rc=$?']);
    assert.match(r.stdout, /rc=1/);
    const hostResolv = readFileSync('/etc/resolv.conf', 'utf8');
    if (/^nameserver/m.test(hostResolv)) {
      // Forwarded: the answer comes back as the host's resolver gave it (NXDOMAIN or an address).
      assert.doesNotMatch(r.stdout + r.stderr, /timed out/);
    }
  });

  test('networks are isolated from each other and from the default bridge', () => {
    assert.equal(d.berth(['network', 'create', '--subnet', '10.231.0.0/24', '--gateway', '10.231.0.254', 'other-net']).code, 0);
    const ip = d.berth(['inspect', '-f', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}', 'api']).stdout.trim();
    const other = d.berth(['run', '--rm', '--network', 'other-net', 'busybox', 'sh', '-c',
      `ip -4 -o addr show eth0; ip route; timeout 2 wget -q -O- http://${ip}:8000/hostname; echo rc=$?; nslookup api 127.0.0.11 >/dev/null; echo dns=$?`]);
    assert.match(other.stdout, /inet 10\.231\.0\.1\/24/);
    assert.match(other.stdout, /default via 10\.231\.0\.254/);
    assert.match(other.stdout, /rc=143/);
    assert.match(other.stdout, /dns=1/);
    const fromBridge = d.berth(['run', '--rm', 'busybox', 'sh', '-c', `timeout 2 wget -q -O- http://${ip}:8000/hostname; echo rc=$?`]);
    assert.match(fromBridge.stdout, /rc=143/);
  });

  test('connect and disconnect a running container', () => {
    d.berth(['run', '-d', '--name', 'outsider', '--network', 'other-net', 'busybox', 'sleep', '1000']);
    const ip = d.berth(['inspect', '-f', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}', 'api']).stdout.trim();
    assert.equal(d.berth(['network', 'connect', '--alias', 'late', 'app-net', 'outsider']).code, 0);
    const r = d.berth(['exec', 'outsider', 'sh', '-c', `ls /sys/class/net; wget -q -O- http://api:8000/hostname >/dev/null && echo reached`]);
    assert.equal(r.stdout, 'eth0\neth1\nlo\nreached\n', r.stderr);
    const seen = d.berth(['run', '--rm', '--network', 'app-net', 'busybox', 'nslookup', 'late', '127.0.0.11']);
    assert.match(seen.stdout, /Address: \d+\.\d+\.\d+\.\d+/);
    const again = d.berth(['network', 'connect', 'app-net', 'outsider']);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /endpoint with name outsider already exists in network app-net/);
    assert.equal(d.berth(['network', 'disconnect', 'app-net', 'outsider']).code, 0);
    const after = d.berth(['exec', 'outsider', 'sh', '-c', `ls /sys/class/net; timeout 2 wget -q -O- http://${ip}:8000/hostname; echo rc=$?`]);
    assert.equal(after.stdout, 'eth0\nlo\nrc=143\n');
    // Not connected any more: dockerd's words for a running container, then for a stopped one.
    const twice = d.berth(['network', 'disconnect', 'app-net', 'outsider']);
    assert.equal(twice.code, 1);
    assert.match(twice.stderr, /^Error response from daemon: container [0-9a-f]{64} is not connected to network app-net\n$/);
    assert.equal(d.berth(['stop', '-t', '0', 'outsider']).code, 0);
    const stopped = d.berth(['network', 'disconnect', 'app-net', 'outsider']);
    assert.match(stopped.stderr, /^Error response from daemon: container [0-9a-f]{64} is not connected to the network app-net\n$/);
    assert.equal(d.berth(['start', 'outsider']).code, 0);
  });

  test('--internal networks reach their own members only', () => {
    assert.equal(d.berth(['network', 'create', '--internal', 'closed']).code, 0);
    d.berth(['run', '-d', '--name', 'iso1', '--network', 'closed', ...httpd()]);
    const r = d.berth(['run', '--rm', '--network', 'closed', 'busybox', 'sh', '-c', 'wget -q -O- http://iso1/hostname >/dev/null && echo peer-ok']);
    assert.match(r.stdout, /peer-ok/);
    // Outside: the host's own next hop, which a normal network reaches through NAT.
    const via = /default via ([\d.]+)/.exec(execFileSync('ip', ['route', 'show', 'default'], { encoding: 'utf8' }))?.[1];
    if (!via) return;
    const ping = (network: string): string => d.berth(['run', '--rm', '--network', network, 'busybox', 'sh', '-c', `ping -c1 -W2 ${via} >/dev/null 2>&1; echo $?`]).stdout.trim();
    if (ping('other-net') !== '0') return; // this host's next hop does not answer pings
    assert.notEqual(ping('closed'), '0');
  });

  test('--ip and --ip-range pick addresses; errors use Docker\'s words', () => {
    const r = d.berth(['run', '--rm', '--network', 'other-net', '--ip', '10.231.0.77', 'busybox', 'ip', '-4', '-o', 'addr', 'show', 'eth0']);
    assert.match(r.stdout, /inet 10\.231\.0\.77\/24/, r.stderr);
    const outside = d.berth(['run', '--rm', '--network', 'other-net', '--ip', '10.9.9.9', 'busybox', 'true']);
    assert.equal(outside.code, 125);
    assert.match(outside.stderr, /Address 10\.9\.9\.9 does not belong to the network's subnet 10\.231\.0\.0\/24/);
    const onBridge = d.berth(['run', '--rm', '--ip', '172.17.0.9', 'busybox', 'true']);
    assert.match(onBridge.stderr, /user specified IP address is supported on user defined networks only/);
    const unknown = d.berth(['run', '--rm', '--network', 'nope', 'busybox', 'true']);
    assert.equal(unknown.code, 125);
    assert.match(unknown.stderr, /network nope not found/);
    const dup = d.berth(['network', 'create', 'app-net']);
    assert.equal(dup.code, 1);
    assert.match(dup.stderr, /network with name app-net already exists/);
    const overlap = d.berth(['network', 'create', '--subnet', '10.231.0.0/16', 'overlapping']);
    assert.match(overlap.stderr, /Pool overlaps with other one on this address space/);
    const bad = d.berth(['network', 'create', '--subnet', '10.1.2.3/16', 'badnet']);
    assert.match(bad.stderr, /invalid subnet 10\.1\.2\.3\/16/);
    const pre = d.berth(['network', 'rm', 'bridge']);
    assert.equal(pre.code, 1);
    assert.match(pre.stderr, /bridge is a pre-defined network and cannot be removed/);
  });

  test('a network in use cannot be removed; once free its bridge and chains go', () => {
    const br = d.berth(['network', 'inspect', '-f', '{{index .Options "com.docker.network.bridge.name"}}', 'app-net']).stdout.trim();
    assert.match(br, /^br-[0-9a-f]{12}$/);
    assert.ok(existsSync(`/sys/class/net/${br}`));
    const busy = d.berth(['network', 'rm', 'app-net']);
    assert.equal(busy.code, 1);
    assert.match(busy.stderr, /error while removing network: network app-net id [0-9a-f]{64} has active endpoints/);
    d.berth(['rm', '-f', 'api']);
    const ok = d.berth(['network', 'rm', 'app-net']);
    assert.equal(ok.stdout, 'app-net\n', ok.stderr);
    assert.ok(!existsSync(`/sys/class/net/${br}`));
    assert.doesNotMatch(spawnSync('iptables-save', [], { encoding: 'utf8' }).stdout, new RegExp(`BERTH-[FDS]-${br}`));
    assert.doesNotMatch(d.berth(['network', 'ls']).stdout, /app-net/);
  });

  test('network ls filters and prune', () => {
    const ls = d.berth(['network', 'ls', '--filter', 'type=custom', '--format', '{{.Name}} {{.Driver}}']);
    assert.equal(ls.stdout, 'closed bridge\nother-net bridge\n');
    d.berth(['rm', '-f', 'outsider', 'iso1']);
    const p = d.berth(['network', 'prune', '-f']);
    assert.equal(p.stdout, 'Deleted Networks:\nclosed\nother-net\n\n');
    assert.equal(d.berth(['network', 'ls', '-q']).stdout.trim().split('\n').length, 3);
  });
});

describe('crashes and leaks', () => {
  test('kill -9 of berthd keeps published ports working; the restart takes them back', async () => {
    const port = await freePort();
    assert.equal(d.berth(['run', '-d', '--name', 'survivor', '-p', `${port}:80`, ...httpd()]).code, 0);
    const id = d.berth(['inspect', '-f', '{{.Id}}', 'survivor']).stdout.trim();
    assert.equal(await eventually(() => httpGet('127.0.0.1', port).catch(() => '')), `${id.slice(0, 12)}\n`);
    await d.kill9();
    assert.equal(await httpGet('127.0.0.1', port), `${id.slice(0, 12)}\n`, 'traffic flows while berthd is down');
    await d.start();
    assert.equal(await httpGet('127.0.0.1', port), `${id.slice(0, 12)}\n`);
    const clash = d.berth(['run', '--rm', '-p', `${port}:80`, 'busybox', 'true']);
    assert.match(clash.stderr, /port is already allocated/, 'the restarted daemon holds the port again');
    assert.equal(d.berth(['rm', '-f', 'survivor']).code, 0);
    assert.doesNotMatch(natRules(), new RegExp(`berth:${id.slice(0, 12)}`));
  });

  test('leftovers of a crash mid-start are swept at the next start', async () => {
    const prefix = `berth-${readFileSync(join(d.dataRoot, 'engine-id'), 'utf8').trim().slice(0, 8)}-`;
    const ns = `${prefix}deadbeef0000`;
    execFileSync('ip', ['netns', 'add', ns]);
    execFileSync('ip', ['link', 'add', 'vbdeadbeef00', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
    execFileSync('ip', ['link', 'set', 'vbdeadbeef00', 'master', d.bridge]);
    await d.stop();
    await d.start();
    assert.ok(!networkObjects().netns.includes(ns));
    assert.ok(!networkObjects().links.includes('vbdeadbeef00'));
  });

  test('a container restarted at once gets a new veth while the old one is still going', async () => {
    d.berth(['run', '-d', '--name', 'quick', ...httpd()]);
    const first = d.berth(['inspect', '-f', '{{.NetworkSettings.SandboxKey}}', 'quick']).stdout.trim();
    assert.ok(first);
    const r = d.berth(['restart', '-t', '0', 'quick']);
    assert.equal(r.code, 0, r.stderr);
    // Reachable through the new veth right away.
    const ip = d.berth(['inspect', '-f', '{{.NetworkSettings.IPAddress}}', 'quick']).stdout.trim();
    const id = d.berth(['inspect', '-f', '{{.Id}}', 'quick']).stdout.trim();
    assert.equal((await eventually(() => httpGet(ip, 80).catch(() => ''))).trim(), id.slice(0, 12));
    d.berth(['rm', '-f', 'quick']);
  });

  test('after everything is removed nothing of ours is left', async () => {
    for (const id of d.berth(['ps', '-aq']).stdout.split('\n').filter(Boolean)) d.berth(['rm', '-f', id]);
    assert.deepEqual(ourNetns(), []);
    const ownVeths = (): string[] => networkObjects().links.filter((l) => {
      try {
        return readFileSync(`/sys/class/net/${l}/master/uevent`, 'utf8').includes(`INTERFACE=${d.bridge}`);
      } catch {
        return false;
      }
    });
    // The veths go with their namespaces, on the kernel's own time (milliseconds).
    await eventually(() => ownVeths().length === 0, 5000).catch(() => undefined);
    assert.deepEqual(ownVeths(), []);
    const { rules } = networkObjects();
    const ids = new Set(d.berth(['ps', '-aq']).stdout.split('\n').filter(Boolean));
    assert.deepEqual(rules.filter((r) => [...ids].some((i) => r.includes(i))), []);
    assert.doesNotMatch(natRules(), new RegExp(`-A BERTH-D-${d.bridge} `));
  });
});

test('a default bridge that already has an address keeps it (a new data root adds no second subnet), as dockerd with docker0', async () => {
  const d2 = new Daemon();
  execFileSync('ip', ['link', 'add', d2.bridge, 'type', 'bridge']);
  execFileSync('ip', ['addr', 'add', '10.123.45.1/24', 'dev', d2.bridge]);
  try {
    await d2.start();
    const cfg = JSON.parse(d2.berth(['network', 'inspect', '-f', '{{json .IPAM.Config}}', 'bridge']).stdout) as Array<{ Subnet: string; Gateway: string }>;
    assert.deepEqual(cfg, [{ Subnet: '10.123.45.0/24', Gateway: '10.123.45.1' }]);
    const addrs = JSON.parse(execFileSync('ip', ['-j', '-4', 'addr', 'show', 'dev', d2.bridge], { encoding: 'utf8' })) as Array<{ addr_info: Array<{ local: string }> }>;
    assert.deepEqual(addrs[0]!.addr_info.map((a) => a.local), ['10.123.45.1']);
    await d2.importBusybox();
    assert.match(d2.berth(['run', '--rm', 'busybox', 'ip', '-4', 'addr', 'show', 'eth0']).stdout, /inet 10\.123\.45\.\d+\/24/);
  } finally {
    await d2.cleanup();
    removeBridge(d2.bridge);
  }
});

test("the embedded DNS forwards other names to the container's --dns servers, else to the host's", async () => {
  // A resolver on the host that knows one name, in a process of its own (the
  // CLI calls below block this one): what berthd forwards reaches it.
  const script = `const p=require(${JSON.stringify(join(ROOT, 'node_modules/dns-packet'))});const s=require('dgram').createSocket('udp4');
s.on('message',(m,r)=>{const q=p.decode(m);const n=q.questions[0].name;console.log('asked '+n);
const a=n==='only.upstream.test'&&q.questions[0].type==='A'?[{type:'A',name:n,ttl:60,data:'10.9.8.7'}]:[];
s.send(p.encode({id:q.id,type:'response',flags:p.RECURSION_AVAILABLE,questions:q.questions,answers:a}),r.port,r.address)});
s.bind(53,'127.0.0.77',()=>console.log('ready'))`;
  const upstream = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let asked = '';
  upstream.stdout!.on('data', (b: Buffer) => { asked += b.toString(); });
  try {
    assert.ok(await eventually(() => asked.includes('ready')));
    assert.equal(d.berth(['network', 'create', 'dnsfwd']).code, 0);
    const withDns = d.berth(['run', '--rm', '--network', 'dnsfwd', '--dns', '127.0.0.77', 'busybox', 'sh', '-c', 'cat /etc/resolv.conf; nslookup only.upstream.test']);
    assert.match(withDns.stdout, /^nameserver 127\.0\.0\.11$/m);
    assert.match(withDns.stdout, /Address: 10\.9\.8\.7/, withDns.stdout + withDns.stderr);
    assert.ok(await eventually(() => asked.includes('asked only.upstream.test')));
    // Without --dns the host's resolvers are asked, not this one.
    const before = asked;
    d.berth(['run', '--rm', '--network', 'dnsfwd', 'busybox', 'nslookup', 'only.upstream.test']);
    await sleep(200);
    assert.equal(asked, before);
  } finally {
    upstream.kill();
    d.berth(['network', 'rm', 'dnsfwd']);
  }
});
