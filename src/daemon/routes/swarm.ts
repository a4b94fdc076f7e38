// Swarm mode and managed plugins: Berth has neither. Their endpoints answer
// as a Docker engine that is in no swarm and has no plugin installed does,
// with the same status codes and words, so that `docker node ls`, `docker
// service ls`, `docker plugin ls` and the SDKs that probe these endpoints
// (docker-py's `client.swarm`, Portainer's environment check) see what they
// know how to handle instead of a 404 for a path they expect to exist.
import type { Router } from '../router.js';
import { sendJson, parseFilters, checkFilterKeys, res } from '../http-util.js';
import { EngineError, NotFoundError } from '../../lib/errors.js';

/** dockerd's answer to any cluster operation on a node in no swarm (503). */
export const NOT_A_SWARM_MANAGER = 'This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.';
/** dockerd's answer to `swarm leave` and `swarm unlock` on a node in no swarm (503). */
export const NOT_IN_A_SWARM = 'This node is not part of a swarm';

/** Objects that only exist inside a swarm: every operation on them needs a manager. */
const CLUSTER_OBJECTS = ['nodes', 'services', 'tasks', 'secrets', 'configs'];

export function swarmRoutes(r: Router): void {
  const notManager = (): never => {
    throw new EngineError(503, NOT_A_SWARM_MANAGER);
  };
  const notInSwarm = (): never => {
    throw new EngineError(503, NOT_IN_A_SWARM);
  };
  // Joining or making a swarm is the one thing a Docker engine would do here and Berth will not.
  const noSwarmMode = (): never => {
    throw new EngineError(501, 'Berth does not support swarm mode: run multi-container applications with `berth compose`');
  };

  for (const object of CLUSTER_OBJECTS) {
    for (const method of ['GET', 'POST', 'DELETE']) {
      r.add(method, `/${object}`, notManager);
      r.add(method, `/${object}/{rest:.*}`, notManager);
    }
  }
  r.add('GET', '/swarm', notManager);
  r.add('GET', '/swarm/unlockkey', notManager);
  r.add('POST', '/swarm/update', notManager);
  r.add('POST', '/swarm/leave', notInSwarm);
  r.add('POST', '/swarm/unlock', notInSwarm);
  r.add('POST', '/swarm/init', noSwarmMode);
  r.add('POST', '/swarm/join', noSwarmMode);

  // No plugin is installed, and none can be: listing works, naming one does not.
  r.add('GET', '/plugins', (ctx) => {
    checkFilterKeys(parseFilters(ctx.query), ['enabled', 'capability']);
    sendJson(res(ctx), 200, []);
  });
  const noManagedPlugins = (): never => {
    throw new EngineError(501, 'Berth does not support managed plugins');
  };
  r.add('GET', '/plugins/privileges', noManagedPlugins);
  r.add('POST', '/plugins/pull', noManagedPlugins);
  r.add('POST', '/plugins/create', noManagedPlugins);
  const noSuchPlugin = (name: string): never => {
    throw new NotFoundError(`plugin "${name}" not found`);
  };
  r.add('GET', '/plugins/{name:.*}/json', (ctx) => noSuchPlugin(ctx.params.name!));
  r.add('DELETE', '/plugins/{name:.*}', (ctx) => noSuchPlugin(ctx.params.name!));
  for (const op of ['enable', 'disable', 'push', 'set', 'upgrade']) {
    r.add('POST', `/plugins/{name:.*}/${op}`, (ctx) => noSuchPlugin(ctx.params.name!));
  }
}
