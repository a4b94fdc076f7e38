// berth: Docker's command line, talking to berthd through EngineClient.
import { Command, CommanderError, Option } from 'commander';
import { EngineApiError, ConnectionError } from '../client/client.js';
import { CliError, setGlobalHost } from './context.js';

const collect = (v: string, prev: string[] = []): string[] => [...prev, v];
const int = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n)) throw new CliError(`invalid argument "${v}": strconv.ParseInt: parsing "${v}": invalid syntax`, 125);
  return n;
};

type Opts = Record<string, unknown>;
type Action = (args: string[], opts: Opts, cmd: Command) => Promise<number | void>;

/** Lazily load the module that implements a command: start-up stays small. */
const lazy = (load: () => Promise<Action>) => async (...a: unknown[]): Promise<void> => {
  const cmd = a[a.length - 1] as Command;
  const opts = cmd.opts();
  const args = cmd.args;
  const code = await (await load())(args, opts, cmd);
  if (typeof code === 'number' && code !== 0) process.exitCode = code;
};
const containers = (name: string) => lazy(async () => (await import('./commands/containers.js'))[name as 'run'] as Action);
const images = (name: string) => lazy(async () => (await import('./commands/images.js'))[name as 'images'] as Action);
const execCmd = lazy(async () => (await import('./commands/exec.js')).exec as Action);
const statsCmd = (name: string) => lazy(async () => (await import('./commands/stats.js'))[name as 'stats'] as Action);
const system = (name: string) => lazy(async () => (await import('./commands/system.js'))[name as 'version'] as Action);
const volumes = (name: string) => lazy(async () => (await import('./commands/volumes.js'))[name as 'volumeLs'] as Action);
const registryCmd = (name: string) => lazy(async () => (await import('./commands/registry.js'))[name as 'pull'] as Action);
const fsCmd = (name: string) => lazy(async () => (await import('./commands/filesystem.js'))[name as 'diff'] as Action);
const networks = (name: string) => lazy(async () => (await import('./commands/networks.js'))[name as 'port'] as Action);

/** Limits that run/create and update share. */
function resourceOptions(c: Command): Command {
  return c
    .option('-m, --memory <bytes>', 'Memory limit')
    .option('--memory-swap <bytes>', "Swap limit equal to memory plus swap: '-1' to enable unlimited swap")
    .option('--memory-reservation <bytes>', 'Memory soft limit')
    .option('--cpus <decimal>', 'Number of CPUs')
    .option('-c, --cpu-shares <int>', 'CPU shares (relative weight)', int)
    .option('--cpu-period <int>', 'Limit CPU CFS (Completely Fair Scheduler) period', int)
    .option('--cpu-quota <int>', 'Limit CPU CFS (Completely Fair Scheduler) quota', int)
    .option('--cpuset-cpus <string>', 'CPUs in which to allow execution (0-3, 0,1)')
    .option('--pids-limit <int>', 'Tune container pids limit (set -1 for unlimited)', int);
}

function runCreateOptions(c: Command): Command {
  return resourceOptions(c)
    .option('-e, --env <list>', 'Set environment variables', collect)
    .option('--env-file <file>', 'Read in a file of environment variables', collect)
    .option('-w, --workdir <string>', 'Working directory inside the container')
    .option('-u, --user <string>', 'Username or UID (format: <name|uid>[:<group|gid>])')
    .option('--entrypoint <string>', 'Overwrite the default ENTRYPOINT of the image')
    .option('-h, --hostname <string>', 'Container host name')
    .option('--domainname <string>', 'Container NIS domain name')
    .option('-l, --label <list>', 'Set meta data on a container', collect)
    .option('--label-file <file>', 'Read in a line delimited file of labels', collect)
    .option('--name <string>', 'Assign a name to the container')
    .option('--cidfile <string>', 'Write the container ID to the file')
    .option('--stop-signal <string>', 'Signal to stop the container')
    .option('--stop-timeout <int>', 'Timeout (in seconds) to stop a container', int)
    .option('--log-driver <string>', 'Logging driver for the container')
    .option('--log-opt <list>', 'Log driver options', collect)
    .option('--restart <string>', 'Restart policy to apply when a container exits', 'no')
    .option('--rm', 'Automatically remove the container and its associated anonymous volumes when it exits')
    .option('--init', 'Run an init inside the container that forwards signals and reaps processes')
    .option('--privileged', 'Give extended privileges to this container')
    .option('--read-only', "Mount the container's root filesystem as read only")
    .option('--cap-add <list>', 'Add Linux capabilities', collect)
    .option('--cap-drop <list>', 'Drop Linux capabilities', collect)
    .option('--security-opt <list>', 'Security Options', collect)
    .option('--net, --network <string>', 'Connect a container to a network')
    .option('--network-alias <list>', 'Add network-scoped alias for the container', collect)
    .option('--ip <string>', 'IPv4 address (e.g., 172.30.100.104)')
    .option('-p, --publish <list>', "Publish a container's port(s) to the host", collect)
    .option('-P, --publish-all', 'Publish all exposed ports to random ports')
    .option('--expose <list>', 'Expose a port or a range of ports', collect)
    .option('--dns <list>', 'Set custom DNS servers', collect)
    .option('--dns-search <list>', 'Set custom DNS search domains', collect)
    .option('--dns-option <list>', 'Set DNS options', collect)
    .option('--add-host <list>', 'Add a custom host-to-IP mapping (host:ip)', collect)
    .option('-v, --volume <list>', 'Bind mount a volume', collect)
    .option('--mount <mount>', 'Attach a filesystem mount to the container', collect)
    .option('--tmpfs <list>', 'Mount a tmpfs directory', collect)
    .option('--volumes-from <list>', 'Mount volumes from the specified container(s)', collect)
    .option('--platform <string>', 'Set platform if server is multi-platform capable')
    .option('--health-cmd <string>', 'Command to run to check health')
    .option('--health-interval <duration>', 'Time between running the check (ms|s|m|h) (default 0s)')
    .option('--health-timeout <duration>', 'Maximum time to allow one check to run (ms|s|m|h) (default 0s)')
    .option('--health-start-period <duration>', 'Start period for the container to initialize before starting health-retries countdown (ms|s|m|h) (default 0s)')
    .option('--health-start-interval <duration>', 'Time between running the check during the start period (ms|s|m|h) (default 0s)')
    .option('--health-retries <int>', 'Consecutive failures needed to report unhealthy', int)
    .option('--no-healthcheck', 'Disable any container-specified HEALTHCHECK')
    .option('--sysctl <list>', 'Sysctl options', collect)
    .option('--ulimit <list>', 'Ulimit options', collect)
    .option('--device <list>', 'Add a host device to the container', collect)
    .option('--group-add <list>', 'Add additional groups to join', collect)
    .option('--oom-kill-disable', 'Disable OOM Killer')
    .option('--shm-size <bytes>', 'Size of /dev/shm')
    .option('-i, --interactive', 'Keep STDIN open even if not attached')
    .option('-t, --tty', 'Allocate a pseudo-TTY')
    .addOption(new Option('--pull <string>', 'Pull image before running').choices(['always', 'missing', 'never']).default('missing'))
    .option('-q, --quiet', 'Suppress the pull output');
}

/**
 * Stands in for a command this invocation does not need: every builder call
 * on it is a no-op that returns it again, so the definitions below read the
 * same whether a command is kept or skipped.
 */
const SKIPPED: Command = new Proxy({} as Command, { get: () => () => SKIPPED });

/** Global options of `berth` that take a value (their value is not a command name). */
const GLOBAL_WITH_VALUE = new Set(['-H', '--host', '-l', '--log-level', '--config']);

/**
 * The command path this argv invokes (`ps`, `container ls`): its first two
 * operands after the global options. Defining commander's whole tree costs
 * ~20 ms on every run, so only the invoked command is defined in full.
 */
export function invokedPath(argv: string[]): string[] {
  const path: string[] = [];
  for (let i = 0; i < argv.length && path.length < 2; i++) {
    const a = argv[i]!;
    if (a === '--') break;
    if (a.startsWith('-')) {
      if (path.length === 0 && GLOBAL_WITH_VALUE.has(a)) i++;
      if (path.length > 0) break;
      continue;
    }
    path.push(a);
  }
  return path;
}

/** Management commands: their first operand names a subcommand. */
const GROUPS = new Set(['container', 'image', 'network', 'volume', 'system', 'builder']);

/**
 * Whether a tree built for `path` has the invoked command. When it does not
 * (a typo, a subcommand that does not exist) the whole tree is built so that
 * commander's errors and help read as always.
 */
export function resolves(program: Command, path: string[]): boolean {
  let cur = program;
  for (const name of path) {
    // Below a leaf command the rest of the path is its arguments.
    if (cur !== program && !GROUPS.has(cur.name())) return true;
    const next = cur.commands.find((c) => c.name() === name || c.aliases().includes(name));
    if (!next) return false;
    cur = next;
  }
  return true;
}

/**
 * Docker's command tree. With `only` (see invokedPath), commands off that
 * path are skipped; with none, the whole tree is defined (help, unknown names).
 */
export function buildProgram(only: string[] = []): Command {
  const depthOf = (c: Command): number => { let d = 0; for (let p = c.parent; p; p = p.parent) d++; return d; };
  /** `parent.command(name)` if the invocation may need it, else SKIPPED. */
  const define = (parent: Command, name: string, aliases: string[] = []): Command => {
    if (parent === SKIPPED) return SKIPPED;
    const want = only[depthOf(parent)];
    if (want !== undefined && want !== name && !aliases.includes(want)) return SKIPPED;
    const c = parent.command(name);
    return aliases.length ? c.aliases(aliases) : c;
  };
  const program = new Command('berth');
  program
    .usage('[OPTIONS] COMMAND')
    .description('A self-sufficient runtime for containers')
    .option('-H, --host <string>', 'Daemon socket to connect to')
    .option('-D, --debug', 'Enable debug mode')
    .option('-l, --log-level <string>', 'Set the logging level')
    .option('--config <string>', 'Location of client config files')
    .option('-v, --version', 'Print version information and quit')
    .enablePositionalOptions()
    .helpOption('--help', 'Print usage')
    .addHelpCommand(false)
    .hook('preAction', (thisCommand) => {
      setGlobalHost(thisCommand.opts().host as string | undefined);
    });

  const defineContainerCommands = (parent: Command, prefix: string): void => {
    const sub = (name: string, aliases: string[] = []): Command => define(parent, name, aliases).helpOption('--help', 'Print usage');

    runCreateOptions(sub('run').description('Create and run a new container from an image')
      .usage('[OPTIONS] IMAGE [COMMAND] [ARG...]')
      .option('-d, --detach', 'Run container in background and print container ID')
      .option('-a, --attach <list>', 'Attach to STDIN, STDOUT or STDERR', collect)
      .option('--detach-keys <string>', 'Override the key sequence for detaching a container')
      .option('--sig-proxy [bool]', 'Proxy received signals to the process (default true; --sig-proxy=false to turn off)', (v: string) => v !== 'false')
      .argument('<image>').argument('[command...]').passThroughOptions()).action(containers('run'));
    runCreateOptions(sub('create').description('Create a new container')
      .usage('[OPTIONS] IMAGE [COMMAND] [ARG...]')
      .argument('<image>').argument('[command...]').passThroughOptions()).action(containers('create'));
    sub('exec').description('Execute a command in a running container')
      .usage('[OPTIONS] CONTAINER COMMAND [ARG...]')
      .option('-d, --detach', 'Detached mode: run command in the background')
      .option('--detach-keys <string>', 'Override the key sequence for detaching a container')
      .option('-e, --env <list>', 'Set environment variables', collect)
      .option('--env-file <file>', 'Read in a file of environment variables', collect)
      .option('-i, --interactive', 'Keep STDIN open even if not attached')
      .option('--privileged', 'Give extended privileges to the command')
      .option('-t, --tty', 'Allocate a pseudo-TTY')
      .option('-u, --user <string>', 'Username or UID (format: "<name|uid>[:<group|gid>]")')
      .option('-w, --workdir <string>', 'Working directory inside the container')
      .argument('<container>').argument('<command...>').passThroughOptions().action(execCmd);
    sub('start').description('Start one or more stopped containers').usage('[OPTIONS] CONTAINER [CONTAINER...]')
      .option('-a, --attach', "Attach STDOUT/STDERR and forward signals")
      .option('-i, --interactive', "Attach container's STDIN")
      .option('--detach-keys <string>', 'Override the key sequence for detaching a container')
      .argument('<containers...>').action(containers('start'));
    resourceOptions(sub('update').description('Update configuration of one or more containers').usage('[OPTIONS] CONTAINER [CONTAINER...]'))
      .option('--restart <string>', 'Restart policy to apply when a container exits')
      .argument('<containers...>').action(containers('update'));
    sub('pause').description('Pause all processes within one or more containers').usage('CONTAINER [CONTAINER...]')
      .argument('<containers...>').action(statsCmd('pause'));
    sub('unpause').description('Unpause all processes within one or more containers').usage('CONTAINER [CONTAINER...]')
      .argument('<containers...>').action(statsCmd('unpause'));
    sub('cp').description('Copy files/folders between a container and the local filesystem')
      .usage('[OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n       berth cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH')
      .option('-a, --archive', 'Archive mode (copy all uid/gid information)')
      .option('-L, --follow-link', 'Always follow symbol link in SRC_PATH')
      .option('-q, --quiet', 'Suppress progress output during copy')
      .argument('<src>').argument('<dst>').action(fsCmd('cp'));
    sub('commit').description("Create a new image from a container's changes").usage('[OPTIONS] CONTAINER [REPOSITORY[:TAG]]')
      .option('-a, --author <string>', 'Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")')
      .option('-c, --change <list>', 'Apply Dockerfile instruction to the created image', collect)
      .option('-m, --message <string>', 'Commit message')
      .option('-p, --pause', 'Pause container during commit (default true; --pause=false to turn off)')
      .addOption(new Option('--no-pause').hideHelp())
      .argument('<container>').argument('[repository]').action(fsCmd('commit'));
    sub('diff').description("Inspect changes to files or directories on a container's filesystem").usage('CONTAINER')
      .argument('<container>').action(fsCmd('diff'));
    sub('export').description("Export a container's filesystem as a tar archive").usage('[OPTIONS] CONTAINER')
      .option('-o, --output <string>', 'Write to a file, instead of STDOUT')
      .argument('<container>').action(fsCmd('exportCmd'));
    sub('top').description('Display the running processes of a container').usage('CONTAINER [ps OPTIONS]')
      .argument('<container>').argument('[psArgs...]').passThroughOptions().allowUnknownOption().action(statsCmd('top'));
    sub('stats').description('Display a live stream of container(s) resource usage statistics').usage('[OPTIONS] [CONTAINER...]')
      .option('-a, --all', 'Show all containers (default shows just running)')
      .option('--format <string>', 'Format output using a custom template')
      .option('--no-stream', 'Disable streaming stats and only pull the first result')
      .option('--no-trunc', 'Do not truncate output')
      .argument('[containers...]').action(statsCmd('stats'));
    sub('attach').description("Attach local standard input, output, and error streams to a running container")
      .usage('[OPTIONS] CONTAINER')
      .option('--detach-keys <string>', 'Override the key sequence for detaching a container')
      .option('--no-stdin', 'Do not attach STDIN')
      .option('--sig-proxy [bool]', 'Proxy received signals to the process (default true; --sig-proxy=false to turn off)', (v: string) => v !== 'false')
      .argument('<container>').action(containers('attachCmd'));
    sub(prefix === 'container' ? 'ls' : 'ps', prefix === 'container' ? ['ps', 'list'] : [])
      .description('List containers').usage('[OPTIONS]')
      .option('-a, --all', 'Show all containers (default shows just running)')
      .option('-q, --quiet', 'Only display container IDs')
      .option('-l, --latest', 'Show the latest created container (includes all states)')
      .option('-n, --last <int>', 'Show n last created containers (includes all states)', int)
      .option('--no-trunc', "Don't truncate output")
      .option('-s, --size', 'Display total file sizes')
      .option('-f, --filter <filter>', 'Filter output based on conditions provided', collect)
      .option('--format <string>', 'Format output using a custom template')
      .action(containers('ps'));
    sub('logs').description('Fetch the logs of a container').usage('[OPTIONS] CONTAINER')
      .option('-f, --follow', 'Follow log output')
      .option('-t, --timestamps', 'Show timestamps')
      .option('-n, --tail <string>', 'Number of lines to show from the end of the logs', 'all')
      .option('--since <string>', 'Show logs since timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)')
      .option('--until <string>', 'Show logs before a timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)')
      .option('--details', 'Show extra details provided to logs')
      .argument('<container>').action(containers('logs'));
    sub('stop').description('Stop one or more running containers').usage('[OPTIONS] CONTAINER [CONTAINER...]')
      .option('-t, --time <int>', 'Seconds to wait before killing the container', int)
      .option('-s, --signal <string>', 'Signal to send to the container')
      .argument('<containers...>').action(containers('stop'));
    sub('restart').description('Restart one or more containers').usage('[OPTIONS] CONTAINER [CONTAINER...]')
      .option('-t, --time <int>', 'Seconds to wait before killing the container', int)
      .option('-s, --signal <string>', 'Signal to send to the container')
      .argument('<containers...>').action(containers('restart'));
    sub('kill').description('Kill one or more running containers').usage('[OPTIONS] CONTAINER [CONTAINER...]')
      .option('-s, --signal <string>', 'Signal to send to the container')
      .argument('<containers...>').action(containers('kill'));
    sub('rm', prefix === 'container' ? ['remove'] : [])
      .description('Remove one or more containers').usage('[OPTIONS] CONTAINER [CONTAINER...]')
      .option('-f, --force', 'Force the removal of a running container (uses SIGKILL)')
      .option('-v, --volumes', 'Remove anonymous volumes associated with the container')
      .option('-l, --link', 'Remove the specified link')
      .argument('<containers...>').action(containers('rm'));
    sub('wait').description('Block until one or more containers stop, then print their exit codes')
      .usage('CONTAINER [CONTAINER...]').argument('<containers...>').action(containers('wait'));
    sub('rename').description('Rename a container').usage('CONTAINER NEW_NAME')
      .argument('<container>').argument('<newName>').action(containers('rename'));
    if (prefix === 'container') {
      sub('inspect').description('Display detailed information on one or more containers')
        .option('-f, --format <string>', 'Format output using a custom template')
        .option('-s, --size', 'Display total file sizes')
        .argument('<containers...>').action(containers('inspectContainers'));
      sub('prune').description('Remove all stopped containers')
        .option('-f, --force', 'Do not prompt for confirmation')
        .option('--filter <filter>', 'Provide filter values (e.g. "until=<timestamp>")', collect)
        .action(containers('prune'));
    }
  };

  const defineImageCommands = (parent: Command, prefix: string): void => {
    const sub = (name: string, aliases: string[] = []): Command => define(parent, name, aliases).helpOption('--help', 'Print usage');
    sub(prefix === 'image' ? 'ls' : 'images', prefix === 'image' ? ['list'] : [])
      .description('List images').usage('[OPTIONS] [REPOSITORY[:TAG]]')
      .option('-a, --all', 'Show all images (default hides intermediate images)')
      .option('-q, --quiet', 'Only show image IDs')
      .option('--digests', 'Show digests')
      .option('--no-trunc', "Don't truncate output")
      .option('-f, --filter <filter>', 'Filter output based on conditions provided', collect)
      .option('--format <string>', 'Format output using a custom template')
      .argument('[repository]').action(images('images'));
    sub(prefix === 'image' ? 'rm' : 'rmi', prefix === 'image' ? ['remove'] : [])
      .description('Remove one or more images').usage('[OPTIONS] IMAGE [IMAGE...]')
      .option('-f, --force', 'Force removal of the image')
      .option('--no-prune', 'Do not delete untagged parents')
      .argument('<images...>').action(images('rmi'));
    sub('tag').description('Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE')
      .usage('SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]').argument('<source>').argument('<target>').action(images('tag'));
    sub('history').description('Show the history of an image').usage('[OPTIONS] IMAGE')
      .option('--format <string>', 'Format output using a custom template')
      .option('-H, --human', 'Print sizes and dates in human readable format (default true; --human=false for raw values)')
      .addOption(new Option('--no-human').hideHelp())
      .option('--no-trunc', "Don't truncate output")
      .option('-q, --quiet', 'Only show image IDs')
      .argument('<image>').action(images('history'));
    if (prefix === 'image') {
      sub('prune').description('Remove unused images').usage('[OPTIONS]')
        .option('-a, --all', 'Remove all unused images, not just dangling ones')
        .option('--filter <filter>', 'Provide filter values (e.g. "until=<timestamp>")', collect)
        .option('-f, --force', 'Do not prompt for confirmation')
        .action(images('imagePrune'));
    }
    sub('pull').description('Download an image from a registry').usage('[OPTIONS] NAME[:TAG|@DIGEST]')
      .option('-a, --all-tags', 'Download all tagged images in the repository')
      .option('-q, --quiet', 'Suppress verbose output')
      .option('--platform <string>', 'Set platform if server is multi-platform capable')
      .argument('<name>').action(registryCmd('pull'));
    sub('push').description('Upload an image to a registry').usage('[OPTIONS] NAME[:TAG]')
      .option('-a, --all-tags', 'Push all tags of an image to the repository')
      .option('-q, --quiet', 'Suppress verbose output')
      .argument('<name>').action(registryCmd('push'));
    sub('save').description('Save one or more images to a tar archive (streamed to STDOUT by default)').usage('[OPTIONS] IMAGE [IMAGE...]')
      .option('-o, --output <string>', 'Write to a file, instead of STDOUT')
      .option('--platform <string>', 'Save only the given platform variant')
      .argument('<images...>').action(images('save'));
    sub('load').description('Load an image from a tar archive or STDIN').usage('[OPTIONS]')
      .option('-i, --input <string>', 'Read from tar archive file, instead of STDIN')
      .option('-q, --quiet', 'Suppress the load output')
      .option('--platform <string>', 'Load only the given platform variant')
      .action(images('load'));
    sub('import').description('Import the contents from a tarball to create a filesystem image')
      .usage('[OPTIONS] file|URL|- [REPOSITORY[:TAG]]')
      .option('-c, --change <list>', 'Apply Dockerfile instruction to the created image', collect)
      .option('-m, --message <string>', 'Set commit message for imported image')
      .option('--platform <string>', 'Set platform if server is multi-platform capable')
      .argument('<source>').argument('[repository]').action(images('importImage'));
    if (prefix === 'image') {
      sub('inspect').description('Display detailed information on one or more images')
        .option('-f, --format <string>', 'Format output using a custom template')
        .argument('<images...>').action(images('inspectImages'));
    }
  };

  defineContainerCommands(program, '');
  defineImageCommands(program, '');
  const container = define(program, 'container').description('Manage containers').helpOption('--help', 'Print usage');
  defineContainerCommands(container, 'container');
  const image = define(program, 'image').description('Manage images').helpOption('--help', 'Print usage');
  defineImageCommands(image, 'image');

  const net = define(program, 'network').description('Manage networks').helpOption('--help', 'Print usage');
  const nsub = (name: string, aliases: string[] = []): Command => define(net, name, aliases).helpOption('--help', 'Print usage');
  nsub('create').description('Create a network').usage('[OPTIONS] NETWORK')
    .option('-d, --driver <string>', 'Driver to manage the Network', 'bridge')
    .option('--subnet <list>', 'Subnet in CIDR format that represents a network segment', collect)
    .option('--gateway <list>', 'IPv4 Gateway for the master subnet', collect)
    .option('--ip-range <list>', 'Allocate container ip from a sub-range', collect)
    .option('--internal', 'Restrict external access to the network')
    .option('--attachable', 'Enable manual container attachment')
    .option('--ipv6', 'Enable IPv6 networking')
    .option('--label <list>', 'Set metadata on a network', collect)
    .option('-o, --opt <list>', 'Set driver specific options', collect)
    .argument('<network>').action(networks('networkCreate'));
  nsub('ls', ['list']).description('List networks')
    .option('-f, --filter <filter>', "Provide filter values (e.g. 'driver=bridge')", collect)
    .option('--format <string>', 'Format output using a custom template')
    .option('--no-trunc', 'Do not truncate the output')
    .option('-q, --quiet', 'Only display network IDs')
    .action(networks('networkLs'));
  nsub('inspect').description('Display detailed information on one or more networks')
    .option('-f, --format <string>', 'Format output using a custom template')
    .option('-v, --verbose', 'Verbose output for diagnostics')
    .argument('<networks...>').action(networks('networkInspect'));
  nsub('rm', ['remove']).description('Remove one or more networks')
    .option('-f, --force', 'Do not error if the network does not exist')
    .argument('<networks...>').action(networks('networkRm'));
  nsub('prune').description('Remove all unused networks')
    .option('-f, --force', 'Do not prompt for confirmation')
    .option('--filter <filter>', 'Provide filter values (e.g. "until=<timestamp>")', collect)
    .action(networks('networkPrune'));
  nsub('connect').description('Connect a container to a network').usage('[OPTIONS] NETWORK CONTAINER')
    .option('--alias <list>', 'Add network-scoped alias for the container', collect)
    .option('--ip <string>', 'IPv4 address (e.g., 172.30.100.104)')
    .argument('<network>').argument('<container>').action(networks('networkConnect'));
  nsub('disconnect').description('Disconnect a container from a network').usage('[OPTIONS] NETWORK CONTAINER')
    .option('-f, --force', 'Force the container to disconnect from a network')
    .argument('<network>').argument('<container>').action(networks('networkDisconnect'));
  const vol = define(program, 'volume').description('Manage volumes').helpOption('--help', 'Print usage');
  const vsub = (name: string, aliases: string[] = []): Command => define(vol, name, aliases).helpOption('--help', 'Print usage');
  vsub('create').description('Create a volume').usage('[OPTIONS] [VOLUME]')
    .option('-d, --driver <string>', 'Specify volume driver name', 'local')
    .option('--label <list>', 'Set metadata for a volume', collect)
    .option('--name <string>', 'Specify volume name')
    .option('-o, --opt <map>', 'Set driver specific options', collect)
    .argument('[volume]').action(volumes('volumeCreate'));
  vsub('ls', ['list']).description('List volumes')
    .option('-f, --filter <filter>', "Provide filter values (e.g. 'dangling=true')", collect)
    .option('--format <string>', 'Format output using a custom template')
    .option('-q, --quiet', 'Only display volume names')
    .action(volumes('volumeLs'));
  vsub('inspect').description('Display detailed information on one or more volumes')
    .option('-f, --format <string>', 'Format output using a custom template')
    .argument('<volumes...>').action(volumes('volumeInspect'));
  vsub('rm', ['remove']).description('Remove one or more volumes')
    .option('-f, --force', 'Force the removal of one or more volumes')
    .argument('<volumes...>').action(volumes('volumeRm'));
  vsub('prune').description('Remove unused local volumes')
    .option('-a, --all', 'Remove all unused volumes, not just anonymous ones')
    .option('-f, --force', 'Do not prompt for confirmation')
    .option('--filter <filter>', 'Provide filter values (e.g. "label=<label>")', collect)
    .action(volumes('volumePrune'));
  define(program, 'port').description('List port mappings or a specific mapping for the container')
    .usage('CONTAINER [PRIVATE_PORT[/PROTO]]').helpOption('--help', 'Print usage')
    .argument('<container>').argument('[port]').action(networks('port'));

  define(program, 'inspect').description('Return low-level information on Docker objects')
    .usage('[OPTIONS] NAME|ID [NAME|ID...]').helpOption('--help', 'Print usage')
    .option('-f, --format <string>', 'Format output using a custom template')
    .option('-s, --size', 'Display total file sizes if the type is container')
    .option('--type <string>', 'Return JSON for specified type')
    .argument('<names...>').action(system('inspect'));
  define(program, 'events').description('Get real time events from the server').helpOption('--help', 'Print usage')
    .option('--since <string>', 'Show all events created since timestamp')
    .option('--until <string>', 'Stream events until this timestamp')
    .option('-f, --filter <filter>', 'Filter output based on conditions provided', collect)
    .option('--format <string>', 'Format output using a custom template')
    .action(system('events'));
  const sys = define(program, 'system').description('Manage Berth').helpOption('--help', 'Print usage');
  define(sys, 'events').option('--since <string>').option('--until <string>').option('-f, --filter <filter>', '', collect)
    .option('--format <string>').action(system('events'));
  define(sys, 'info').option('-f, --format <string>').action(system('info'));
  const disk = (name: string) => lazy(async () => (await import('./commands/disk.js'))[name as 'systemDf'] as Action);
  define(sys, 'df').description('Show Berth disk usage').usage('[OPTIONS]').helpOption('--help', 'Print usage')
    .option('--format <string>', 'Format output using a custom template')
    .option('-v, --verbose', 'Show detailed information on space usage')
    .action(disk('systemDf'));
  define(sys, 'prune').description('Remove unused data').usage('[OPTIONS]').helpOption('--help', 'Print usage')
    .option('-a, --all', 'Remove all unused images not just dangling ones')
    .option('--filter <filter>', 'Provide filter values (e.g. "label=<key>=<value>")', collect)
    .option('-f, --force', 'Do not prompt for confirmation')
    .option('--volumes', 'Prune anonymous volumes')
    .action(disk('systemPrune'));
  const buildCmd = lazy(async () => (await import('./commands/build.js')).build as Action);
  for (const parent of [program, image]) {
    define(parent, 'build').description('Build an image from a Dockerfile').usage('[OPTIONS] PATH').helpOption('--help', 'Print usage')
      .option('-t, --tag <name>', 'Name and optionally a tag in the "name:tag" format', collect)
      .option('-f, --file <string>', "Name of the Dockerfile (Default is 'PATH/Dockerfile')")
      .option('--build-arg <list>', 'Set build-time variables', collect)
      .option('--label <list>', 'Set metadata for an image', collect)
      .option('--target <string>', 'Set the target build stage to build')
      .option('--no-cache', 'Do not use cache when building the image')
      .option('-q, --quiet', 'Suppress the build output and print image ID on success')
      .option('--pull', 'Always attempt to pull a newer version of the image')
      .option('--rm', 'Remove intermediate containers after a successful build (default true)')
      .option('--force-rm', 'Always remove intermediate containers')
      .option('--platform <string>', 'Set platform if server is multi-platform capable')
      .option('--progress <string>', 'Set type of progress output (auto, plain, tty, quiet, rawjson, classic)', 'auto')
      .option('--iidfile <string>', 'Write the image ID to the file')
      .option('--network <string>', 'Set the networking mode for the RUN instructions during build (default, host, none)')
      .option('--add-host <list>', 'Add a custom host-to-IP mapping ("host:ip")', collect)
      .option('--cache-from <string>', 'Images to consider as cache sources', collect)
      .option('--secret <stringArray>', 'Secret to expose to the build (format: "id=mysecret[,src=/local/secret]")', collect)
      .option('--ssh <stringArray>', 'SSH agent socket to expose to the build (format: "default|<id>[=<socket>]")', collect)
      .argument('<path>').action(buildCmd);
  }
  const builder = define(program, 'builder').description('Manage builds').helpOption('--help', 'Print usage');
  define(builder, 'prune').description('Remove build cache').usage('[OPTIONS]').helpOption('--help', 'Print usage')
    .option('-a, --all', 'Remove all unused build cache, not just dangling ones')
    .option('-f, --force', 'Do not prompt for confirmation')
    .option('--filter <filter>', 'Provide filter values', collect)
    .action(lazy(async () => (await import('./commands/build.js')).builderPrune as Action));
  define(program, 'login').description('Log in to a registry').usage('[OPTIONS] [SERVER]').helpOption('--help', 'Print usage')
    .option('-u, --username <string>', 'Username')
    .option('-p, --password <string>', 'Password')
    .option('--password-stdin', 'Take the password from stdin')
    .argument('[server]').action(registryCmd('login'));
  define(program, 'search').description('Search Docker Hub (or the registry the term names) for images').usage('[OPTIONS] TERM').helpOption('--help', 'Print usage')
    .option('-f, --filter <filter>', 'Filter output based on conditions provided', collect)
    .option('--format <string>', 'Pretty-print search using a Go template')
    .option('--limit <int>', 'Max number of search results')
    .option('--no-trunc', "Don't truncate output")
    .argument('<term>').action(registryCmd('search'));
  define(program, 'logout').description('Log out from a registry').usage('[SERVER]').helpOption('--help', 'Print usage')
    .argument('[server]').action(registryCmd('logout'));
  define(program, 'version').description('Show the Berth version information').helpOption('--help', 'Print usage')
    .option('-f, --format <string>', 'Format output using a custom template').action(system('version'));
  define(program, 'info').description('Display system-wide information').helpOption('--help', 'Print usage')
    .option('-f, --format <string>', 'Format output using a custom template').action(system('info'));
  return program;
}

function commandPath(cmd: Command | null): string {
  const names: string[] = [];
  for (let c = cmd; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

function configureErrors(cmd: Command): void {
  cmd.exitOverride();
  cmd.configureOutput({ writeErr: () => undefined });
  cmd.commands.forEach(configureErrors);
}

/**
 * Docker's boolean flags that default to true are turned off as `--flag=false`;
 * commander spells that `--no-flag`. Only flags declared with a `--no-` twin.
 */
const TRUE_BY_DEFAULT: Record<string, string> = { '-p': 'pause', '--pause': 'pause', '-H': 'human', '--human': 'human' };

export function normaliseBoolFlags(argv: string[]): string[] {
  return argv.map((a) => {
    const m = /^(--?[a-z-]+)=(true|false|1|0)$/.exec(a);
    const name = m && TRUE_BY_DEFAULT[m[1]!];
    if (!name) return a;
    return m[2] === 'false' || m[2] === '0' ? `--no-${name}` : `--${name}`;
  });
}

export async function main(argv: string[]): Promise<void> {
  // A reader that went away (`berth events | head -1`): stop quietly, as the
  // docker CLI does when SIGPIPE ends it (a shell reports 141 for both).
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') process.exit(141);
      throw e;
    });
  }
  if (argv[0] === '-v' || argv[0] === '--version') {
    process.stdout.write('Berth version 0.1.0\n');
    return;
  }
  if (argv.length === 0) argv = ['--help'];
  const path = invokedPath(argv);
  let program = buildProgram(path);
  if (!resolves(program, path)) program = buildProgram();
  if (argv.includes('commit') || argv.includes('history')) argv = normaliseBoolFlags(argv);
  configureErrors(program);
  let current: Command = program;
  program.hook('preSubcommand', (_t, sub) => { current = sub; });
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    process.exitCode = handleError(err, current);
  }
}

function handleError(err: unknown, current: Command): number {
  if (err instanceof CommanderError) {
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.help' || err.code === 'commander.version') return 0;
    const path = commandPath(current);
    let msg = err.message.replace(/^error: /, '');
    const unknownOpt = /unknown option '([^']+)'/.exec(msg);
    if (unknownOpt) {
      const o = unknownOpt[1]!;
      msg = o.startsWith('--') ? `unknown flag: ${o}` : `unknown shorthand flag: '${o.slice(1, 2)}' in ${o}`;
    }
    const missing = /missing required argument '([^']+)'/.exec(msg);
    if (missing) {
      // Docker counts the required arguments and, like any non-flag error, exits 1.
      const n = current.registeredArguments.filter((a) => a.required).length;
      process.stderr.write(`"${path}" requires at least ${n} argument${n === 1 ? '' : 's'}.\nSee '${path} --help'.\n`);
      return 1;
    }
    const unknownCmd = /unknown command '([^']+)'/.exec(msg);
    if (unknownCmd) msg = `unknown command: ${path} ${unknownCmd[1]}`;
    process.stderr.write(`${msg}\nSee '${path} --help'.\n`);
    return 125;
  }
  if (err instanceof CliError) {
    if (err.message) process.stderr.write(err.message.endsWith('\n') ? err.message : err.message + '\n');
    return err.exitCode;
  }
  if (err instanceof EngineApiError) {
    process.stderr.write(`Error response from daemon: ${err.message}\n`);
    return 1;
  }
  if (err instanceof ConnectionError) {
    process.stderr.write(`${err.message}\n`);
    return 1;
  }
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  return 1;
}


