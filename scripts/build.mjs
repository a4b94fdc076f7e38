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
  // ESM bundles need a require() for the CommonJS dependencies they inline.
  banner: { js: "#!/usr/bin/env node\nimport { createRequire as __berthCreateRequire } from 'node:module'; const require = __berthCreateRequire(import.meta.url);" },
};
await build({ ...common, entryPoints: ['src/cli/main.ts'], outfile: 'dist/berth.js' });
await build({ ...common, entryPoints: ['src/daemon/main.ts'], outfile: 'dist/berthd.js' });
chmodSync('dist/berth.js', 0o755);
chmodSync('dist/berthd.js', 0o755);
