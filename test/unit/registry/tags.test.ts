import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nextPage } from '../../../src/registry/tags.js';

test("the tags list's next page comes from the Link header", () => {
  assert.equal(nextPage('</v2/team/app/tags/list?last=b&n=2>; rel="next"'), '/v2/team/app/tags/list?last=b&n=2');
  assert.equal(nextPage('<https://r.example/v2/x/tags/list?last=z>;rel=next'), 'https://r.example/v2/x/tags/list?last=z');
  assert.equal(nextPage('</v2/x/tags/list?last=z>; rel="prev"'), undefined);
  assert.equal(nextPage(null), undefined);
});
