import { test } from 'node:test';
import assert from 'node:assert/strict';
import { processWord, processWords, processKeyValues, SubstitutionError } from '../../../src/build/shell-lex.js';

const env: Record<string, string> = { NAME: 'app', EMPTY: '', VERSION: '1.2.3', SPACED: 'a b' };
const lookup = (k: string): string | undefined => env[k];

test('substitution forms', () => {
  assert.equal(processWord('$NAME', lookup), 'app');
  assert.equal(processWord('${NAME}-x', lookup), 'app-x');
  assert.equal(processWord('$NAMEx', lookup), '', 'the longest name is taken');
  assert.equal(processWord('${MISSING:-dflt}', lookup), 'dflt');
  assert.equal(processWord('${EMPTY:-dflt}', lookup), 'dflt');
  assert.equal(processWord('${EMPTY-dflt}', lookup), '', 'without the colon an empty value counts as set');
  assert.equal(processWord('${NAME:+set}', lookup), 'set');
  assert.equal(processWord('${EMPTY:+set}', lookup), '');
  assert.equal(processWord('${EMPTY+set}', lookup), 'set');
  assert.equal(processWord('${MISSING:-${NAME}}', lookup), 'app', 'nested');
  assert.equal(processWord('/opt/${NAME}/v$VERSION', lookup), '/opt/app/v1.2.3');
  assert.throws(() => processWord('${MISSING:?must be set}', lookup), (e: unknown) => e instanceof SubstitutionError && /MISSING: must be set/.test(e.message));
  assert.throws(() => processWord('${NAME', lookup), /missing '}'|unsupported modifier/);
  assert.throws(() => processWord('${NAME/x/y}', lookup), /unsupported modifier/);
});

test('quotes and escapes', () => {
  assert.equal(processWord("'$NAME'", lookup), '$NAME', 'single quotes are literal');
  assert.equal(processWord('"$NAME"', lookup), 'app');
  assert.equal(processWord('"a \\"q\\" b"', lookup), 'a "q" b');
  assert.equal(processWord('\\$NAME', lookup), '$NAME');
  assert.equal(processWord('"\\$NAME"', lookup), '$NAME');
  assert.equal(processWord('a\\ b', lookup), 'a b');
  assert.equal(processWord('$', lookup), '$');
  assert.equal(processWord('cost: $5', lookup), 'cost: $5');
  assert.equal(processWord('`$NAME', lookup, '`'), '$NAME', 'the escape directive changes the escape character');
  assert.equal(processWord('C:\\path', lookup, '`'), 'C:\\path');
  assert.throws(() => processWord('"open', lookup), /matching double-quote/);
  assert.throws(() => processWord("'open", lookup), /matching single-quote/);
});

test('words: split on unquoted whitespace, substitutions never split', () => {
  assert.deepEqual(processWords('src/ "my file" $SPACED /dest/', lookup), ['src/', 'my file', 'a b', '/dest/']);
  assert.deepEqual(processWords('  80/tcp   ${VERSION}  ', lookup), ['80/tcp', '1.2.3']);
  assert.deepEqual(processWords("'a  b' c\\ d", lookup), ['a  b', 'c d']);
});

test('key=value pairs and the legacy ENV form', () => {
  assert.deepEqual(processKeyValues('A=1 B="two words" C=$NAME D=\'$NAME\'', lookup), [['A', '1'], ['B', 'two words'], ['C', 'app'], ['D', '$NAME']]);
  assert.deepEqual(processKeyValues('MYVAR some value $NAME', lookup), [['MYVAR', 'some value app']]);
  assert.deepEqual(processKeyValues('E=', lookup), [['E', '']]);
  assert.throws(() => processKeyValues('A=1 B', lookup), /B must be of the form: name=value/);
  assert.throws(() => processKeyValues('A="unclosed', lookup), /matching double-quote/);
});
