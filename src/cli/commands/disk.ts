// `system df` and `system prune`: disk usage by kind, and every prune at once
// (the docker CLI also runs system prune as a series of prune calls).
import { client, out } from '../context.js';
import { confirm, parseFilterFlags } from '../prompt.js';
import { tabwrite } from '../tabwriter.js';
import { formatRows } from '../format.js';
import { humanDuration, humanSize } from '../../lib/units.js';

type Opts = Record<string, unknown>;

interface DfImage { Id: string; RepoTags: string[] | null; Created: number; Size: number; SharedSize: number; Containers: number }
interface DfContainer { Id: string; Names: string[]; Image: string; Command: string; Created: number; State: string; Status: string; SizeRw?: number; Mounts?: { Type: string }[] }
interface DfVolume { Name: string; UsageData?: { Size: number; RefCount: number } }
interface DfBuildCache { ID: string; Type: string; Size: number; InUse: boolean; Shared: boolean; CreatedAt: string; LastUsedAt: string | null; UsageCount: number }
interface DiskUsage { LayersSize: number; Images: DfImage[] | null; Containers: DfContainer[] | null; Volumes: DfVolume[] | null; BuildCache?: DfBuildCache[] | null }

const withPercent = (reclaimable: number, total: number): string =>
  total > 0 ? `${humanSize(reclaimable)} (${Math.floor((reclaimable * 100) / total)}%)` : humanSize(reclaimable);

export async function systemDf(_args: string[], opts: Opts): Promise<number> {
  const du = await client().json<DiskUsage>('GET', '/system/df');
  const images = du.Images ?? [];
  const containers = du.Containers ?? [];
  const volumes = du.Volumes ?? [];
  const usedByActive = images.filter((i) => i.Containers > 0).reduce((a, i) => a + i.Size - i.SharedSize, 0);
  const cSize = containers.reduce((a, c) => a + (c.SizeRw ?? 0), 0);
  const cReclaim = containers.filter((c) => c.State !== 'running' && c.State !== 'paused' && c.State !== 'restarting').reduce((a, c) => a + (c.SizeRw ?? 0), 0);
  const vSize = volumes.reduce((a, v) => a + (v.UsageData?.Size ?? 0), 0);
  const vReclaim = volumes.filter((v) => (v.UsageData?.RefCount ?? 0) === 0).reduce((a, v) => a + (v.UsageData?.Size ?? 0), 0);
  const cache = du.BuildCache ?? [];
  // As the docker CLI counts: shared records are not this cache's size, records in use are not reclaimable.
  const bSize = cache.filter((b) => !b.Shared).reduce((a, b) => a + b.Size, 0);
  const bReclaim = cache.filter((b) => !b.Shared && !b.InUse).reduce((a, b) => a + b.Size, 0);
  const rows = [
    { Type: 'Images', TotalCount: String(images.length), Active: String(images.filter((i) => i.Containers > 0).length), Size: humanSize(du.LayersSize), Reclaimable: withPercent(Math.max(0, du.LayersSize - usedByActive), du.LayersSize) },
    { Type: 'Containers', TotalCount: String(containers.length), Active: String(containers.filter((c) => c.State === 'running').length), Size: humanSize(cSize), Reclaimable: withPercent(cReclaim, cSize) },
    { Type: 'Local Volumes', TotalCount: String(volumes.length), Active: String(volumes.filter((v) => (v.UsageData?.RefCount ?? 0) > 0).length), Size: humanSize(vSize), Reclaimable: withPercent(vReclaim, vSize) },
    { Type: 'Build Cache', TotalCount: String(cache.length), Active: String(cache.filter((b) => b.InUse).length), Size: humanSize(bSize), Reclaimable: humanSize(bReclaim) },
  ];
  if (typeof opts.format === 'string' && opts.format !== 'table') {
    out(formatRows(opts.format, rows, { Type: 'TYPE', TotalCount: 'TOTAL', Active: 'ACTIVE', Size: 'SIZE', Reclaimable: 'RECLAIMABLE' }));
    return 0;
  }
  if (!opts.verbose) {
    out(tabwrite([['TYPE', 'TOTAL', 'ACTIVE', 'SIZE', 'RECLAIMABLE'], ...rows.map((r) => [r.Type, r.TotalCount, r.Active, r.Size, r.Reclaimable])]));
    return 0;
  }
  const now = Date.now();
  const imageRows = [['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE', 'SHARED SIZE', 'UNIQUE SIZE', 'CONTAINERS']];
  for (const i of images) {
    const tags = i.RepoTags?.length ? i.RepoTags : ['<none>:<none>'];
    for (const t of tags) {
      const at = t.lastIndexOf(':');
      imageRows.push([t.slice(0, at), t.slice(at + 1), i.Id.slice(7, 19), `${humanDuration(now - i.Created * 1000)} ago`, humanSize(i.Size), humanSize(i.SharedSize), humanSize(i.Size - i.SharedSize), String(i.Containers)]);
    }
  }
  const containerRows = [['CONTAINER ID', 'IMAGE', 'COMMAND', 'LOCAL VOLUMES', 'SIZE', 'CREATED', 'STATUS', 'NAMES']];
  for (const c of containers) {
    const cmd = c.Command.length > 20 ? `"${c.Command.slice(0, 19)}…"` : `"${c.Command}"`;
    containerRows.push([c.Id.slice(0, 12), c.Image, cmd, String((c.Mounts ?? []).filter((m) => m.Type === 'volume').length), humanSize(c.SizeRw ?? 0),
      `${humanDuration(now - c.Created * 1000)} ago`, c.Status, c.Names.map((n) => n.replace(/^\//, '')).join(',')]);
  }
  const volumeRows = [['VOLUME NAME', 'LINKS', 'SIZE'], ...volumes.map((v) => [v.Name, String(v.UsageData?.RefCount ?? 0), humanSize(v.UsageData?.Size ?? 0)])];
  const ago = (t: string | null): string => (t ? `${humanDuration(now - Date.parse(t))} ago` : '');
  const cacheRows = [['CACHE ID', 'CACHE TYPE', 'SIZE', 'CREATED', 'LAST USED', 'USAGE', 'SHARED'],
    ...cache.map((b) => [`${b.ID.slice(0, 12)}${b.InUse ? '*' : ''}`, b.Type, humanSize(b.Size), ago(b.CreatedAt), ago(b.LastUsedAt), String(b.UsageCount), String(b.Shared)])];
  out(`Images space usage:\n\n${tabwrite(imageRows)}\nContainers space usage:\n\n${tabwrite(containerRows)}\nLocal Volumes space usage:\n\n${tabwrite(volumeRows)}\nBuild cache usage: ${humanSize(bSize)}\n\n${tabwrite(cacheRows)}`);
  return 0;
}

export async function systemPrune(_args: string[], opts: Opts): Promise<number> {
  const items = ['all stopped containers', 'all networks not used by at least one container'];
  // API 1.41 (what Berth speaks) prunes every unused volume, named ones too.
  if (opts.volumes) items.push('all volumes not used by at least one container');
  items.push(opts.all ? 'all images without at least one container associated to them' : 'all dangling images', 'unused build cache');
  const warning = `WARNING! This will remove:\n${items.map((i) => `  - ${i}\n`).join('')}`;
  if (!opts.force && !(await confirm(warning))) return 0;
  const filters = parseFilterFlags((opts.filter as string[] | undefined) ?? []) ?? {};
  const q = (extra: Record<string, string[]> = {}): { filters?: string } => {
    const f = { ...filters, ...extra };
    return Object.keys(f).length ? { filters: JSON.stringify(f) } : {};
  };
  const c = client();
  let reclaimed = 0;
  const containers = await c.json<{ ContainersDeleted: string[] | null; SpaceReclaimed: number }>('POST', '/containers/prune', { query: q() });
  reclaimed += containers.SpaceReclaimed ?? 0;
  if (containers.ContainersDeleted?.length) out(`Deleted Containers:\n${containers.ContainersDeleted.join('\n')}\n\n`);
  const networks = await c.json<{ NetworksDeleted: string[] | null }>('POST', '/networks/prune', { query: q() });
  if (networks.NetworksDeleted?.length) out(`Deleted Networks:\n${networks.NetworksDeleted.join('\n')}\n\n`);
  if (opts.volumes) {
    const { until: _until, ...volumeFilters } = filters;
    void _until;
    const v = await c.json<{ VolumesDeleted: string[] | null; SpaceReclaimed: number }>('POST', '/volumes/prune', {
      query: Object.keys(volumeFilters).length ? { filters: JSON.stringify(volumeFilters) } : {},
    });
    reclaimed += v.SpaceReclaimed ?? 0;
    if (v.VolumesDeleted?.length) out(`Deleted Volumes:\n${v.VolumesDeleted.join('\n')}\n\n`);
  }
  const images = await c.json<{ ImagesDeleted: { Untagged?: string; Deleted?: string }[] | null; SpaceReclaimed: number }>('POST', '/images/prune', {
    query: q(opts.all ? { dangling: ['false'] } : {}),
  });
  reclaimed += images.SpaceReclaimed ?? 0;
  if (images.ImagesDeleted?.length) {
    out(`Deleted Images:\n${images.ImagesDeleted.map((d) => (d.Untagged ? `untagged: ${d.Untagged}\n` : `deleted: ${d.Deleted}\n`)).join('')}\n`);
  }
  out(`Total reclaimed space: ${humanSize(reclaimed)}\n`);
  return 0;
}
