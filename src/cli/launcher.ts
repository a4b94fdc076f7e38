// dist/berth.js: starts the CLI bundle (dist/cli.js) from V8's code cache.
//
// Node 20 has no module compile cache (module.enableCompileCache came in 22),
// so every `berth` run would parse and compile the ~400 kB bundle and the
// functions it runs again. The build runs a few commands once and saves what
// V8 compiled (scripts/build.mjs); here that cache is handed back to V8,
// which checks it against its own version and flags and compiles afresh when
// it does not fit. The cache file is named after the bundle's hash, so a
// bundle rebuilt without its cache is never paired with a stale one.
import { readFileSync, writeFileSync, renameSync } from 'node:fs';
import Module, { createRequire } from 'node:module';
import { join } from 'node:path';
import { Script, constants } from 'node:vm';

/** sha256 of dist/cli.js, set by the build. */
declare const BERTH_CLI_BUILD: string;

const bundle = join(__dirname, 'cli.js');
const cacheFile = join(__dirname, `cli-${BERTH_CLI_BUILD}.cache`);

let cachedData: Buffer | undefined;
try {
  cachedData = readFileSync(cacheFile);
} catch {
  // No cache (a build without the priming step): compile as usual.
}
const script = new Script(Module.wrap(readFileSync(bundle, 'utf8')), {
  filename: bundle,
  cachedData,
  // A dynamic import() the bundle keeps (of a built-in, say) works as in a module Node loaded itself.
  importModuleDynamically: constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
});

// Whether V8 took the cache (a test holds the build to it).
if (process.env.BERTH_CODE_CACHE_REPORT === '1') {
  process.stderr.write(`code cache: ${cachedData === undefined ? 'missing' : script.cachedDataRejected ? 'rejected' : 'accepted'}\n`);
}

// The build primes the cache by running commands with this set; each run adds
// what it compiled to what the previous runs left.
if (process.env.BERTH_WRITE_CODE_CACHE === '1') {
  process.once('exit', () => {
    try {
      writeFileSync(`${cacheFile}.tmp`, script.createCachedData());
      renameSync(`${cacheFile}.tmp`, cacheFile);
    } catch (err) {
      process.stderr.write(`berth: cannot write the code cache: ${(err as Error).message}\n`);
    }
  });
}

const module_ = { exports: {} };
const wrapper = script.runInThisContext() as (exports: object, require: NodeJS.Require, module: object, filename: string, dirname: string) => void;
wrapper(module_.exports, createRequire(bundle), module_, bundle, __dirname);
