// `system df`: what images, containers, volumes and the build cache use on disk, in the shape
// of Docker's GET /system/df. Joins the services, so it lives with the daemon.
import type { Engine } from './engine.js';
import { containerSummary, statusOf } from './routes/containers.js';
import { cacheMounts } from './build.js';

export async function diskUsage(engine: Engine): Promise<Record<string, unknown>> {
  const images = engine.images.list();
  const containers = engine.containers.list();
  // Each layer counts once however many images share it.
  const layerSize = new Map<string, number>();
  const layerUsers = new Map<string, number>();
  for (const img of images) {
    for (const l of img.layers) {
      layerUsers.set(l, (layerUsers.get(l) ?? 0) + 1);
      if (!layerSize.has(l)) layerSize.set(l, (await engine.layers.get(l).catch(() => ({ size: 0 }))).size);
    }
  }
  const imageSummaries = images.map((img) => {
    const shared = img.layers.filter((l) => (layerUsers.get(l) ?? 0) > 1).reduce((a, l) => a + (layerSize.get(l) ?? 0), 0);
    return {
      ...engine.images.toSummary(img),
      SharedSize: shared,
      Containers: containers.filter((c) => c.Image === img.id).length,
    };
  });
  const containerSummaries = [];
  for (const c of containers) {
    containerSummaries.push(containerSummary(c, statusOf(c), { rw: await engine.containers.sizeRw(c.Id), rootFs: engine.imageSize(c.Image) }));
  }
  const volumes = [];
  for (const v of engine.volumes.list()) {
    const refs = containers.filter((c) => c.Mounts?.some((m) => m.Type === 'volume' && m.Name === v.Name)).length;
    volumes.push({ ...v, UsageData: { Size: await engine.volumes.size(v), RefCount: refs } });
  }
  return {
    LayersSize: [...layerSize.values()].reduce((a, b) => a + b, 0),
    Images: imageSummaries,
    Containers: containerSummaries,
    Volumes: volumes,
    BuildCache: await cacheMounts(engine).list(),
  };
}
