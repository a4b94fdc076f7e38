// `push`: every layer at once (skipped when the registry has it, mounted from
// another repository of the same registry when one of our images came from
// there), then the config, then the manifest under the tag.
import { familiarName, familiarString, parseReference, type Reference } from '../image/reference.js';
import type { ImageRecord, ImageStore } from '../image/image-store.js';
import { NotFoundError } from '../lib/errors.js';
import { progressMessage, throttle, type JsonMessage } from '../lib/progress.js';
import { uploadBlob } from './blobs.js';
import type { RegistryClient } from './client.js';

/** Repositories on the same registry that hold `digest` (from where our images were pulled or pushed). */
function mountSources(store: ImageStore, ref: Reference, digest: string): string[] {
  const out = new Set<string>();
  for (const img of store.list()) {
    if (!img.layerBlobs.some((b) => b.digest === digest)) continue;
    for (const rd of img.repoDigests) {
      const r = parseReference(rd);
      if (r.domain === ref.domain && r.path !== ref.path) out.add(r.path);
    }
  }
  return [...out].slice(0, 3);
}

export async function pushImage(store: ImageStore, client: RegistryClient, ref: Reference, tag: string, say: (m: JsonMessage) => void): Promise<void> {
  const name = familiarString({ ...ref, tag, digest: undefined });
  const rec: ImageRecord | undefined = store.tryResolve(name);
  if (!rec || !rec.repoTags.includes(name)) throw new NotFoundError(`An image does not exist locally with the tag: ${familiarName(ref)}`);
  const layers = [...rec.layerBlobs].reverse();
  for (const l of layers) say({ status: 'Preparing', progressDetail: {}, id: l.digest.slice(7, 19) });
  const results = await Promise.allSettled(layers.map(async (l) => {
    const id = l.digest.slice(7, 19);
    const bar = throttle<number>(100, (n) => say(progressMessage(id, 'Pushing', n, l.size)));
    const from = mountSources(store, ref, l.digest);
    const how = await uploadBlob(client, ref.path, l, store.content, { mountFrom: from, onProgress: (n) => bar.push(n) });
    bar.flush();
    if (how === 'exists') say({ status: 'Layer already exists', progressDetail: {}, id });
    else if (how === 'mounted') say({ status: `Mounted from ${from[0]}`, progressDetail: {}, id });
    else say({ status: 'Pushed', progressDetail: {}, id });
  }));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  const configSize = (await store.content.readBlob(rec.id)).length;
  await uploadBlob(client, ref.path, { digest: rec.id, size: configSize }, store.content);
  const manifest = await store.content.readBlob(rec.manifestDigest);
  const mediaType = (JSON.parse(manifest.toString('utf8')) as { mediaType?: string }).mediaType ?? 'application/vnd.oci.image.manifest.v1+json';
  const res = await client.request(`/v2/${ref.path}/manifests/${tag}`, {
    method: 'PUT', scope: `repository:${ref.path}:pull,push`, headers: { 'Content-Type': mediaType }, body: manifest,
  });
  if (res.status !== 201) await client.fail(res, `failed to push the manifest of ${name}`);
  await res.arrayBuffer().catch(() => undefined);
  const digest = rec.manifestDigest;
  await store.addRepoDigest(rec.id, `${familiarName(ref)}@${digest}`);
  say({ status: `${tag}: digest: ${digest} size: ${manifest.length}` });
  say({ progressDetail: {}, aux: { Tag: tag, Digest: digest, Size: manifest.length } });
}
