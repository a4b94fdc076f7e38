// Build: tsc compiles src+test to build/ (tests import from there); esbuild
// bundles the two entry points to dist/ so `berth` starts by loading one file.
import { execFileSync } from 'node:child_process';
import { build } from 'esbuild';
import { chmodSync } from 'node:fs';

execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json'], { stdio: 'inherit' });
const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  sourcemap: true,
};
// ESM bundles need a require() for the CommonJS dependencies they inline.
const requireShim = "import { createRequire as __berthCreateRequire } from 'node:module'; const require = __berthCreateRequire(import.meta.url);";
// The CLI only talks to a unix socket, never TLS, so it drops
// NODE_EXTRA_CA_CERTS: Node parses that bundle at start-up, which costs
// ~0.19 s on machines that set it (four times Node's own start-up).
const cliShebang = '#!/usr/bin/env -S -u NODE_EXTRA_CA_CERTS node';
await build({ ...common, banner: { js: `${cliShebang}\n${requireShim}` }, entryPoints: ['src/cli/main.ts'], outfile: 'dist/berth.js' });
// node-unix-socket loads a native addon, which cannot be bundled: berthd
// requires it from node_modules at run time.
await build({ ...common, banner: { js: `#!/usr/bin/env node\n${requireShim}` }, entryPoints: ['src/daemon/main.ts'], outfile: 'dist/berthd.js', external: ['node-unix-socket'] });
chmodSync('dist/berth.js', 0o755);
chmodSync('dist/berthd.js', 0o755);
