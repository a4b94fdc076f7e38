import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDetachKeys, DetachKeyScanner, DEFAULT_DETACH_KEYS } from '../../../src/lib/detach-keys.js';

test('detach keys: Docker notation', () => {
  assert.deepEqual(parseDetachKeys(DEFAULT_DETACH_KEYS), [0x10, 0x11]);
  assert.deepEqual(parseDetachKeys('ctrl-a,x'), [1, 0x78]);
  assert.deepEqual(parseDetachKeys('ctrl-@,ctrl-[,ctrl-\\,ctrl-],ctrl-^,ctrl-_'), [0, 27, 28, 29, 30, 31]);
  assert.throws(() => parseDetachKeys('ctrl-1'), /Unknown character: 'ctrl-1'/);
  assert.throws(() => parseDetachKeys('alt-x'), /Unknown character/);
});

test('detach scanner: passes other bytes through, holds a partial match, detects across chunks', () => {
  const s = new DetachKeyScanner([0x10, 0x11]);
  assert.deepEqual(s.push(Buffer.from('abc')), { pass: Buffer.from('abc'), detach: false });
  assert.deepEqual(s.push(Buffer.from([0x61, 0x10])), { pass: Buffer.from([0x61]), detach: false });
  // The held ctrl-p turns out not to start the sequence: it is passed on.
  assert.deepEqual(s.push(Buffer.from([0x62])), { pass: Buffer.from([0x10, 0x62]), detach: false });
  assert.deepEqual(s.push(Buffer.from([0x10, 0x10])), { pass: Buffer.from([0x10]), detach: false });
  assert.deepEqual(s.push(Buffer.from([0x11, 0x63])), { pass: Buffer.alloc(0), detach: true });
  const one = new DetachKeyScanner([0x18]);
  assert.deepEqual(one.push(Buffer.from([0x61, 0x18])), { pass: Buffer.from([0x61]), detach: true });
});
