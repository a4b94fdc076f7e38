import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDockerfile, DockerfileParseError, flagValue, flagValues } from '../../../src/build/dockerfile.js';

const kw = (text: string): string[] => parseDockerfile(text).instructions.map((i) => i.keyword);

test('instructions, case, comments, blank lines and line numbers', () => {
  const df = parseDockerfile('# a comment\nfrom busybox AS base\n\n  run echo hi\n# another\nCMD ["sh"]\n');
  assert.deepEqual(df.instructions.map((i) => [i.keyword, i.line, i.rest]), [['FROM', 2, 'busybox AS base'], ['RUN', 4, 'echo hi'], ['CMD', 6, '["sh"]']]);
  assert.deepEqual(df.instructions[2]!.json, ['sh']);
  assert.equal(df.escape, '\\');
});

test('parser directives: syntax and escape at the top only; repeated ones are an error', () => {
  const df = parseDockerfile('# syntax=docker/dockerfile:1\n# escape=`\nFROM scratch\nRUN echo a `\n  b\n');
  assert.deepEqual(df.directives, { syntax: 'docker/dockerfile:1', escape: '`' });
  assert.equal(df.instructions[1]!.rest, 'echo a   b');
  // After an ordinary comment a directive is just a comment.
  assert.deepEqual(parseDockerfile('# hello\n# escape=`\nFROM scratch\n').directives, {});
  assert.deepEqual(parseDockerfile('# unknown=1\n# escape=`\nFROM scratch\n').directives, {});
  assert.throws(() => parseDockerfile('# escape=`\n# escape=\\\nFROM scratch\n'), /only one escape parser directive/);
  assert.throws(() => parseDockerfile('# escape=x\nFROM scratch\n'), /invalid escape token 'x'/);
});

test('continuations: comments and empty lines inside are dropped; a trailing escape at the end of file', () => {
  const df = parseDockerfile('FROM busybox\nRUN apt-get update && \\\n# explain\n\n    apt-get install -y curl \\\n    && rm -rf /var/lib/apt\nENV A=1 \\\n');
  const run = df.instructions[1]!;
  assert.equal(run.rest, 'apt-get update &&     apt-get install -y curl     && rm -rf /var/lib/apt');
  assert.equal(run.line, 2);
  assert.equal(run.endLine, 6);
  assert.equal(df.instructions[2]!.rest, 'A=1');
});

test('flags come before the arguments, only where Docker has them', () => {
  const df = parseDockerfile('FROM --platform=linux/amd64 busybox AS b\nCOPY --from=b --chown=1:1 --chmod=644 --link a b /dst/\nRUN --mount=type=cache,target=/root/.cache --mount=type=bind,target=/src --network=none make\n');
  const [from, copy, run] = df.instructions;
  assert.equal(flagValue(from!, 'platform'), 'linux/amd64');
  assert.equal(from!.rest, 'busybox AS b');
  assert.equal(flagValue(copy!, 'from'), 'b');
  assert.equal(flagValue(copy!, 'link'), '');
  assert.equal(copy!.rest, 'a b /dst/');
  assert.deepEqual(flagValues(run!, 'mount'), ['type=cache,target=/root/.cache', 'type=bind,target=/src']);
  assert.equal(run!.rest, 'make');
  assert.throws(() => parseDockerfile('FROM busybox\nENV --x=1 A=b\n'), /ENV does not take flags/);
});

test('exec and shell forms', () => {
  const df = parseDockerfile('FROM busybox\nENTRYPOINT ["/bin/app", "--serve"]\nCMD [not json\nRUN ["echo", 1]\nSHELL ["/bin/bash", "-c"]\nVOLUME ["/data", "/logs"]\n');
  assert.deepEqual(df.instructions[1]!.json, ['/bin/app', '--serve']);
  assert.equal(df.instructions[2]!.json, undefined, 'not JSON: the shell form');
  assert.equal(df.instructions[3]!.json, undefined, 'non-string items: the shell form, as Docker');
  assert.deepEqual(df.instructions[4]!.json, ['/bin/bash', '-c']);
  assert.deepEqual(df.instructions[5]!.json, ['/data', '/logs']);
  assert.throws(() => parseDockerfile('FROM busybox\nSHELL /bin/bash -c\n'), /SHELL requires the arguments to be in JSON form/);
});

test('heredocs: several per instruction, <<- strips tabs, quoted names turn expansion off', () => {
  const df = parseDockerfile('FROM busybox\nRUN <<EOF\necho one\necho two\nEOF\nCOPY <<-"A" /a <<B /b\n\tliteral $X\n\tA\nsecond\nB\nCMD ["true"]\n');
  const [, run, copy, cmd] = df.instructions;
  assert.deepEqual(run!.heredocs, [{ name: 'EOF', content: 'echo one\necho two\n', expand: true, chomp: false }]);
  assert.deepEqual(copy!.heredocs, [
    { name: 'A', content: 'literal $X\n', expand: false, chomp: true },
    { name: 'B', content: 'second\n', expand: true, chomp: false },
  ]);
  assert.equal(cmd!.keyword, 'CMD');
  assert.equal(cmd!.line, 11);
  assert.throws(() => parseDockerfile('FROM busybox\nRUN <<EOF\necho never closed\n'), (e: unknown) => e instanceof DockerfileParseError && e.line === 2 && /unterminated heredoc EOF/.test(e.message));
});

test('ONBUILD holds a trigger instruction', () => {
  const df = parseDockerfile('FROM busybox\nONBUILD COPY --chown=1 . /app\nONBUILD run make\n');
  assert.equal(df.instructions[1]!.trigger?.keyword, 'COPY');
  assert.equal(flagValue(df.instructions[1]!.trigger!, 'chown'), '1');
  assert.equal(df.instructions[2]!.trigger?.keyword, 'RUN');
  assert.throws(() => parseDockerfile('FROM busybox\nONBUILD ONBUILD RUN x\n'), /Chaining ONBUILD/);
  assert.throws(() => parseDockerfile('FROM busybox\nONBUILD FROM alpine\n'), /FROM isn't allowed as an ONBUILD trigger/);
});

test('errors carry the line: unknown instruction, missing FROM, empty file, missing arguments', () => {
  assert.throws(() => parseDockerfile('FROM busybox\n\nRUNN echo\n'), (e: unknown) => e instanceof DockerfileParseError && e.line === 3 && e.message === 'dockerfile parse error on line 3: unknown instruction: RUNN');
  assert.throws(() => parseDockerfile('RUN echo\nFROM busybox\n'), (e: unknown) => e instanceof DockerfileParseError && e.line === 1 && /no build stage in current context/.test(e.message));
  assert.deepEqual(kw('ARG BASE=busybox\nFROM $BASE\n'), ['ARG', 'FROM'], 'ARG may come before FROM');
  assert.throws(() => parseDockerfile('# only a comment\n\n'), /file with no instructions/);
  assert.throws(() => parseDockerfile('FROM busybox\nWORKDIR\n'), (e: unknown) => e instanceof DockerfileParseError && e.line === 2 && /WORKDIR requires at least one argument/.test(e.message));
  assert.deepEqual(kw('FROM busybox\r\nRUN echo crlf\r\n'), ['FROM', 'RUN']);
});
