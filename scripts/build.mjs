// Build: tsc compiles src+test to build/ (tests import from there); esbuild
// bundles the two programs to dist/ as CommonJS (dist/package.json says so):
// Node starts a CommonJS entry ~15 ms sooner than an ES module one, and in a
// CommonJS bundle each module (with the Node built-ins it requires) is only
// evaluated when a command first needs it.
//
// The CLI is two files: dist/cli.js, the bundle, and dist/berth.js, a small
// launcher that runs it from a V8 code cache made here (src/cli/launcher.ts).
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { build } from 'esbuild';
import { chmodSync, readFileSync, readdirSync, rmSync, writeFileSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json'], { stdio: 'inherit' });
const common = { bundle: true, platform: 'node', target: 'node20', format: 'cjs', sourcemap: true };

mkdirSync('dist', { recursive: true });
for (const f of readdirSync('dist')) rmSync(`dist/${f}`, { recursive: true, force: true });
writeFileSync('dist/package.json', '{ "type": "commonjs" }\n');

/**
 * Built-in modules the CLI needs only on some paths, loaded on first use:
 * commander requires child_process at load time (for executable
 * subcommands berth never uses), and most commands never hash, spawn or
 * compress anything; loading child_process, crypto and zlib costs ~10 ms of
 * every run. Each import gets a stand-in that requires the real module when
 * a property is first read (esbuild reads named imports at the call site).
 */
const LAZY_BUILTINS = /^(node:)?(child_process|crypto|zlib)$/;
const lazyBuiltins = {
  name: 'lazy-builtins',
  setup(b) {
    b.onResolve({ filter: LAZY_BUILTINS }, (args) => (args.namespace === 'lazy-builtin'
      ? { path: args.path, external: true }
      : { path: args.path.replace(/^node:/, ''), namespace: 'lazy-builtin' }));
    // esbuild's interop copies an import's property names at load (as getters that read
    // through): the names are known here, the values are read on first use.
    b.onLoad({ filter: /.*/, namespace: 'lazy-builtin' }, async (args) => ({
      contents: `const names = ${JSON.stringify(Object.keys(await import(`node:${args.path}`)).filter((k) => k !== 'default'))};
let m; const load = () => (m ??= require('node:${args.path}'));
module.exports = new Proxy({}, {
  get: (_, k) => load()[k],
  has: (_, k) => k in load(),
  ownKeys: () => names,
  getOwnPropertyDescriptor: (_, k) => (names.includes(k) ? { configurable: true, enumerable: true, writable: false, value: undefined } : undefined),
});`,
      loader: 'js',
    }));
  },
};
// Minified: every run reads the whole bundle (V8 checks the code cache
// against the source) and deserializes the cache; half the bytes saved
// ~2–6 ms of each `berth` command here. dist/cli.js.map maps stack traces back.
await build({ ...common, minify: true, entryPoints: ['src/cli/main.ts'], outfile: 'dist/cli.js', plugins: [lazyBuiltins] });

const cliBuild = createHash('sha256').update(readFileSync('dist/cli.js')).digest('hex').slice(0, 16);
// The CLI only talks to a unix socket, never TLS, so it drops
// NODE_EXTRA_CA_CERTS: Node parses that bundle at start-up, which costs
// ~0.19 s on machines that set it (four times Node's own start-up).
await build({
  ...common, sourcemap: false, entryPoints: ['src/cli/launcher.ts'], outfile: 'dist/berth.js',
  banner: { js: '#!/usr/bin/env -S -u NODE_EXTRA_CA_CERTS node' },
  define: { BERTH_CLI_BUILD: JSON.stringify(cliBuild) },
});

// berthd's V8 heap gets a first old-generation limit of 64 MB instead of a
// few MB. The buffers a pull moves (~450 MB for 300 MB of layers) count
// toward that limit, and with berthd's ~10 MB of live objects V8 ran a full
// collection every ~18 MB of them: ~25 in one pull, each releasing buffers
// whose memory the next chunks then fault in afresh. With the floor, one or
// two. Interleaved pulls: 1.71 → 1.29 s, berthd's CPU 1.79 → 1.12 s. It
// only moves the first collections; the heap still grows as it needs and
// shrinks when idle, and a fresh daemon's RSS is unchanged. V8 takes such
// flags at start-up only, so they are in the shebang (`berthd`, or
// `dist/berthd.js` run as a program); the test and bench harnesses read them
// from there. `node dist/berthd.js` runs without them.
const BERTHD_NODE_FLAGS = ['--initial-old-space-size=64'];

// node-unix-socket loads a native addon, which cannot be bundled: berthd
// requires it from node_modules at run time.
await build({ ...common, banner: { js: `#!/usr/bin/env -S node ${BERTHD_NODE_FLAGS.join(' ')}` }, entryPoints: ['src/daemon/main.ts'], outfile: 'dist/berthd.js', external: ['node-unix-socket'] });
chmodSync('dist/berth.js', 0o755);
chmodSync('dist/berthd.js', 0o755);

// Prime the CLI's code cache: each run adds what it compiled. No daemon is
// needed; commands stop at the connection error, after commander, the
// command table and the client have run.
const primeContext = mkdtempSync(join(tmpdir(), 'berth-prime-'));
writeFileSync(join(primeContext, 'Dockerfile'), 'FROM busybox\n');
const prime = [['--help'], ['ps'], ['run', '--rm', 'busybox', 'true'], ['images'], ['rm', '-f', 'x'], ['logs', 'x'], ['exec', 'x', 'true'], ['build', primeContext]];
for (const args of prime) {
  spawnSync(process.execPath, ['dist/berth.js', '-H', 'unix:///nonexistent/berth-build.sock', ...args], {
    env: { ...process.env, BERTH_WRITE_CODE_CACHE: '1', NODE_EXTRA_CA_CERTS: '' }, stdio: 'ignore',
  });
}
rmSync(primeContext, { recursive: true, force: true });
if (!readdirSync('dist').some((f) => f === `cli-${cliBuild}.cache`)) throw new Error('build: the CLI code cache was not written');
