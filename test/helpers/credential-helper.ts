// A docker-credential-helpers program for tests: the same protocol as pass or
// secretservice, keeping logins in the JSON file named by BERTH_TEST_CREDS
// and appending each action to BERTH_TEST_CREDS.log.
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';

const file = process.env.BERTH_TEST_CREDS!;
const action = process.argv[2] ?? '';
const input = readFileSync(0, 'utf8').trim();
appendFileSync(`${file}.log`, `${action}\n`);
let store: Record<string, { Username: string; Secret: string }> = {};
try {
  store = JSON.parse(readFileSync(file, 'utf8')) as typeof store;
} catch { /* empty store */ }
const notFound = (): never => {
  process.stdout.write('credentials not found in native keychain\n');
  process.exit(1);
};
switch (action) {
  case 'get': {
    const c = store[input] ?? notFound();
    process.stdout.write(JSON.stringify({ ServerURL: input, ...c }));
    break;
  }
  case 'store': {
    const c = JSON.parse(input) as { ServerURL: string; Username: string; Secret: string };
    store[c.ServerURL] = { Username: c.Username, Secret: c.Secret };
    writeFileSync(file, JSON.stringify(store));
    break;
  }
  case 'erase':
    if (!store[input]) notFound();
    delete store[input];
    writeFileSync(file, JSON.stringify(store));
    break;
  case 'list':
    process.stdout.write(JSON.stringify(Object.fromEntries(Object.entries(store).map(([k, v]) => [k, v.Username]))));
    break;
  default:
    process.stdout.write(`unknown action: ${action}\n`);
    process.exit(1);
}
