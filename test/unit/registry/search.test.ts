import { test } from 'node:test';
import assert from 'node:assert/strict';
import { filterSearchResults, parseSearchFilters, searchLimit, searchUrl, splitSearchTerm, type SearchResult } from '../../../src/registry/search.js';
import { InvalidParameterError } from '../../../src/lib/errors.js';

test('splitSearchTerm: Docker Hub unless the first part looks like a host', () => {
  assert.deepEqual(splitSearchTerm('busybox'), { index: 'docker.io', query: 'busybox' });
  assert.deepEqual(splitSearchTerm('team/app'), { index: 'docker.io', query: 'team/app' });
  assert.deepEqual(splitSearchTerm('localhost/app'), { index: 'localhost', query: 'app' });
  assert.deepEqual(splitSearchTerm('localhost:5000/team/app'), { index: 'localhost:5000', query: 'team/app' });
  assert.deepEqual(splitSearchTerm('registry.example/app'), { index: 'registry.example', query: 'app' });
  assert.deepEqual(splitSearchTerm('docker.io/library/busybox'), { index: 'docker.io', query: 'busybox' });
  assert.deepEqual(splitSearchTerm('index.docker.io/team/app'), { index: 'docker.io', query: 'team/app' });
});

test('searchUrl: Docker Hub is searched on index.docker.io; the query is escaped', () => {
  assert.equal(searchUrl('docker.io', 'https', 'busybox', 25), 'https://index.docker.io/v1/search?q=busybox&n=25');
  assert.equal(searchUrl('localhost:5000', 'http', 'team/app x', 3), 'http://localhost:5000/v1/search?q=team%2Fapp%20x&n=3');
});

test('searchLimit: absent or not positive is 25, above 100 and non-integers are refused', () => {
  assert.equal(searchLimit(null), 25);
  assert.equal(searchLimit(''), 25);
  assert.equal(searchLimit('0'), 25);
  assert.equal(searchLimit('-3'), 25);
  assert.equal(searchLimit('1'), 1);
  assert.equal(searchLimit('100'), 100);
  assert.throws(() => searchLimit('101'), (e: unknown) => e instanceof InvalidParameterError && e.message === 'limit 101 is outside the range of [1, 100]');
  assert.throws(() => searchLimit('ten'), InvalidParameterError);
  assert.throws(() => searchLimit('2.5'), InvalidParameterError);
});

const results: SearchResult[] = [
  { name: 'a', description: '', star_count: 0, is_official: false, is_automated: true },
  { name: 'b', description: '', star_count: 10, is_official: true, is_automated: false },
  { name: 'c', description: '', star_count: 50, is_official: false, is_automated: false },
];
const names = (rs: SearchResult[]): string[] => rs.map((r) => r.name);
const filters = (f: Record<string, string[]>): Map<string, string[]> => new Map(Object.entries(f));

test('filters: stars keeps at least the largest N given, is-official matches, is-automated=true finds nothing', () => {
  assert.deepEqual(names(filterSearchResults(results, parseSearchFilters(filters({})))), ['a', 'b', 'c']);
  assert.deepEqual(names(filterSearchResults(results, parseSearchFilters(filters({ stars: ['5', '20'] })))), ['c']);
  assert.deepEqual(names(filterSearchResults(results, parseSearchFilters(filters({ stars: ['10'] })))), ['b', 'c']);
  assert.deepEqual(names(filterSearchResults(results, parseSearchFilters(filters({ 'is-official': ['true'] })))), ['b']);
  assert.deepEqual(names(filterSearchResults(results, parseSearchFilters(filters({ 'is-official': ['false'], stars: ['1'] })))), ['c']);
  assert.deepEqual(names(filterSearchResults(results, parseSearchFilters(filters({ 'is-official': ['0'] })))), ['a', 'c']);
  assert.deepEqual(filterSearchResults(results, parseSearchFilters(filters({ 'is-automated': ['true'] }))), []);
  assert.deepEqual(names(filterSearchResults(results, parseSearchFilters(filters({ 'is-automated': ['false'] })))), ['a', 'b', 'c']);
  // Docker Hub's automated flag is not to be trusted: every result says false.
  assert.ok(filterSearchResults(results, parseSearchFilters(filters({}))).every((r) => !r.is_automated));
});

test('filters: unknown keys and bad values are refused with dockerd\'s words', () => {
  for (const [f, message] of [
    [{ color: ['red'] }, "invalid filter 'color'"],
    [{ stars: ['many'] }, "invalid filter 'stars=many'"],
    [{ stars: ['1.5'] }, "invalid filter 'stars=1.5'"],
    [{ 'is-official': ['maybe'] }, "invalid filter 'is-official=maybe'"],
    [{ 'is-automated': ['yes'] }, "invalid filter 'is-automated=yes'"],
  ] as const) {
    assert.throws(() => parseSearchFilters(filters(f as unknown as Record<string, string[]>)), (e: unknown) => e instanceof InvalidParameterError && e.message === message);
  }
});
