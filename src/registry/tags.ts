// The tags of a repository (GET /v2/NAME/tags/list), page after page as the
// distribution spec's Link header leads: what `pull --all-tags` pulls.
import type { RegistryClient } from './client.js';
import { NotFoundError } from '../lib/errors.js';

/** The next page's path from a `Link: </v2/…?last=x&n=100>; rel="next"` header. */
export function nextPage(link: string | null): string | undefined {
  if (!link) return undefined;
  const m = /<([^>]+)>\s*;\s*rel="?next"?/.exec(link);
  return m?.[1];
}

export async function listTags(client: RegistryClient, path: string): Promise<string[]> {
  const tags: string[] = [];
  let page: string | undefined = `/v2/${path}/tags/list?n=1000`;
  // A registry that loops its pages must not hold a pull forever.
  for (let pages = 0; page && pages < 1000; pages++) {
    const res = await client.request(page, { scope: `repository:${path}:pull` });
    if (res.status === 404) {
      await res.arrayBuffer().catch(() => undefined);
      throw new NotFoundError(`repository ${path} not found: does not exist or no pull access`);
    }
    if (!res.ok) await client.fail(res, `failed to list the tags of ${path}`);
    const body = (await res.json()) as { tags?: string[] | null };
    tags.push(...(body.tags ?? []));
    page = nextPage(res.headers.get('link'));
  }
  return [...new Set(tags)];
}
