import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, constants, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { ForkServer, shellQuote } from '../../../src/lib/fork-server.js';

const dir = mkdtempSync(join(tmpdir(), 'berth-forkserver-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('shellQuote makes one word of anything', () => {
  assert.equal(shellQuote('plain'), "'plain'");
  assert.equal(shellQuote("it's"), `'it'\\''s'`);
  assert.equal(shellQuote(''), "''");
});

test('arguments arrive exactly: quotes, spaces, $, backslashes, globs and newlines are not interpreted', async () => {
  const fs = new ForkServer();
  const out = join(dir, 'args');
  const args = ["it's", 'a b', '$PATH', '`id`', '\\n\\', '*', 'x\ny', ''];
  const r = await fs.run(['sh', '-c', 'printf "%s|" "$@" > "$0"', out, ...args]);
  assert.deepEqual(r, { code: 0, stderr: '', status: undefined });
  assert.equal(readFileSync(out, 'utf8'), args.map((a) => `${a}|`).join(''));
  fs.close();
});

test('stdin lines reach the command verbatim through the here-document', async () => {
  const fs = new ForkServer();
  const out = join(dir, 'stdin');
  const lines = ['link add x type veth', "it's $HOME `id` \\t", '', 'EOF', 'last'];
  const r = await fs.run(['sh', '-c', 'cat > "$0"', out], lines);
  assert.equal(r.code, 0);
  assert.equal(readFileSync(out, 'utf8'), lines.join('\n') + '\n');
  // Without stdin lines the command reads /dev/null, not the shell's job pipe.
  const r2 = await fs.run(['sh', '-c', 'cat > "$0"', join(dir, 'empty')]);
  assert.equal(r2.code, 0);
  assert.equal(readFileSync(join(dir, 'empty'), 'utf8'), '');
  await assert.rejects(fs.run(['cat'], ['two\nlines']), /newline/);
  fs.close();
});

test('exit codes and stderr come back per job, also for many jobs at once; a missing program is 127', async () => {
  const fs = new ForkServer();
  const fail = await fs.run(['sh', '-c', 'echo "RTNETLINK answers: File exists" >&2; printf "%s\\n" "back\\\\slash \\"q\\"" >&2; exit 2']);
  assert.deepEqual(fail, { code: 2, stderr: 'RTNETLINK answers: File exists\nback\\slash "q"', status: undefined });
  const quiet = await fs.run(['sh', '-c', 'echo noise >&2; exit 0']);
  assert.deepEqual(quiet, { code: 0, stderr: '', status: undefined });
  const missing = await fs.run(['/nonexistent/program', 'x']);
  assert.equal(missing.code, 127);
  assert.match(missing.stderr, /not found/);
  const many = await Promise.all(Array.from({ length: 120 }, (_, i) => fs.run(['sh', '-c', `echo "job ${i}" >&2; exit ${i % 7}`])));
  many.forEach((r, i) => {
    assert.equal(r.code, i % 7, `job ${i}`);
    assert.equal(r.stderr, i % 7 ? `job ${i}` : '', `job ${i}`);
  });
  // Finished jobs are not left as zombies of the shell (it would reap them only when it next forks).
  const shellPid = (fs as unknown as { shell: { pid: number } }).shell.pid;
  const zombies = (): number => readdirSync('/proc').filter((d) => /^\d+$/.test(d)).filter((d) => {
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return fields[0] === 'Z' && Number(fields[1]) === shellPid;
    } catch {
      return false;
    }
  }).length;
  for (let i = 0; i < 50 && zombies() > 0; i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(zombies(), 0);
  fs.close();
});

test('runWithStatusFd: the first line on fd 3 is the status, earlier stderr is kept, the environment is added, the program may run on', async () => {
  const fs = new ForkServer();
  const t0 = Date.now();
  const r = await fs.runWithStatusFd(
    ['sh', '-c', 'echo "starting up" >&2; printf "{\\"data\\": 42, \\"v\\": \\"%s\\\\\\\\n\\"}\\n" "$SYNC_TEST" >&3; sleep 2; echo later >&3'],
    { SYNC_TEST: "a 'b' $c" },
  );
  assert.ok(Date.now() - t0 < 1500, 'resolved at the status line, not when the program ended');
  assert.equal(r.code, 0);
  // printf turned the format's \\\\n into \\n: the backslash survives the way back (no echo interpreting it).
  assert.equal(r.status, `{"data": 42, "v": "a 'b' $c\\n"}`);
  assert.equal(r.stderr, 'starting up');
  // No status line: the program's complaint and a failure.
  const none = await fs.runWithStatusFd(['sh', '-c', 'echo "cannot exec runtime" >&2; exit 1'], {});
  assert.deepEqual(none, { code: 1, stderr: 'cannot exec runtime', status: undefined });
  assert.throws(() => fs.runWithStatusFd(['true'], { 'bad name': 'x' }), /bad variable name/);
  fs.close();
});

test('a shell that dies fails the jobs under way; the next job starts a new one', async () => {
  const fs = new ForkServer();
  await fs.run(['true']);
  const shellPid = (fs as unknown as { shell: { pid: number } }).shell.pid;
  const hanging = fs.runWithStatusFd(['sleep', '3'], {});
  process.kill(shellPid, 'SIGKILL');
  await assert.rejects(hanging, /fork server: the shell exited/);
  const again = await fs.run(['sh', '-c', 'exit 5']);
  assert.equal(again.code, 5);
  assert.notEqual((fs as unknown as { shell: { pid: number } }).shell.pid, shellPid);
  fs.close();
});

test('startWithStdin: the program reads the FIFO, its pid comes while it runs, then its exit code and stderr', async () => {
  const fs = new ForkServer();
  const fifo = join(dir, 'in.fifo');
  execFileSync('mkfifo', [fifo]);
  // Held read-write, as berthd holds it: the program's open does not wait.
  const fd = openSync(fifo, constants.O_RDWR | constants.O_NONBLOCK);
  const out = join(dir, 'copied');
  const job = fs.startWithStdin(['sh', '-c', `cat > ${shellQuote(out)}; echo "complaint" >&2; exit 3`], fifo);
  const pid = await job.pid;
  process.kill(pid, 0);
  writeSync(fd, 'through the fifo\n');
  closeSync(fd);
  const r = await job.done;
  assert.equal(r.code, 3);
  assert.equal(r.stderr, 'complaint');
  assert.equal(readFileSync(out, 'utf8'), 'through the fifo\n');
  // A program that cannot start: exit 127 and the shell's word for it.
  const fd2 = openSync(fifo, constants.O_RDWR | constants.O_NONBLOCK);
  const missing = await fs.startWithStdin(['/nonexistent/program'], fifo).done;
  assert.equal(missing.code, 127);
  assert.match(missing.stderr, /nonexistent\/program.*not found/);
  closeSync(fd2);
  fs.close();
});
