// The plain build display: what BuildKit users read in CI logs, from a
// sequence of build events (no daemon needed: the events are the input).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PlainDisplay } from '../../../src/cli/build-display.js';
import { BuildEvents } from '../../../src/build/progress.js';

function render(script: (ev: BuildEvents) => void, error?: { message: string; dockerfile?: string }): string {
  let out = '';
  const display = new PlainDisplay((s) => { out += s; });
  script(new BuildEvents((e) => display.event(e)));
  display.finish(error);
  return out;
}

test('vertices are numbered in the order they appear; output lines carry their offset; partial lines are kept until done', () => {
  const out = render((ev) => {
    const a = ev.vertex('[1/2] FROM docker.io/library/busybox:latest', 1);
    const b = ev.vertex('[2/2] RUN echo hi', 2);
    a.done();
    b.log('first li');
    b.log('ne\nsecond');
    b.done();
  });
  assert.match(out, /^#1 \[1\/2\] FROM docker\.io\/library\/busybox:latest\n#2 \[2\/2\] RUN echo hi\n#1 DONE 0\.\ds\n\n#2 \d\.\d{3} first line\n#2 \d\.\d{3} second\n#2 DONE 0\.\ds\n\n$/);
});

test('cached steps, sub-steps and a failure with the Dockerfile excerpt', () => {
  const out = render((ev) => {
    ev.vertex('[2/3] COPY . /app', 2).cached();
    const x = ev.vertex('exporting to image');
    x.sub('naming to docker.io/library/app:1');
    x.done();
    const r = ev.vertex('[3/3] RUN make', 3);
    for (let i = 1; i <= 12; i++) r.log(`out ${i}\n`);
    r.done('process "/bin/sh -c make" did not complete successfully: exit code: 2');
  }, { message: 'process "/bin/sh -c make" did not complete successfully: exit code: 2', dockerfile: 'FROM busybox\nCOPY . /app\nRUN make\n' });
  assert.match(out, /#1 \[2\/3\] COPY \. \/app\n#1 CACHED\n\n/);
  assert.match(out, /#2 exporting to image\n#2 naming to docker\.io\/library\/app:1 done\n#2 DONE/);
  assert.match(out, /#3 ERROR: process "\/bin\/sh -c make" did not complete successfully: exit code: 2\n/);
  // The error block: the last ten lines only, then the lines around the failing one.
  const block = out.slice(out.indexOf('------'));
  assert.doesNotMatch(block, / out 2\n/);
  assert.match(block, /^------\n > \[3\/3\] RUN make:\n(\d\.\d{3} out \d+\n){10}------\nDockerfile:3\n-{20}\n {3}1 \| {5}FROM busybox\n {3}2 \| {5}COPY \. \/app\n {3}3 \| >>> RUN make\n {3}4 \| {5}\n-{20}\nERROR: failed to solve: process/);
});
