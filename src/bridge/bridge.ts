/**
 * Puts the layers together: a link to the target, the josx64 client and its
 * handshake (or an attach to a kernel that is already connected), the session,
 * the gdb endpoint, the session snapshot a restarted bridge attaches from, and
 * the recovery of a dropped target link. `josgdb serve`, the demo and the tests
 * all start a bridge through `startBridge`.
 */
import type { Logger } from 'pino';
import { sleep, withTimeout } from '../common/async';
import { errorMessage } from '../common/errors';
import type { Link } from '../link/link';
import { openLink } from '../link/open';
import { KernelClient } from '../target/client';
import type { KernelInfo } from '../target/messages';
import { GdbServer, type RspTap } from './gdb-server';
import { KernelTarget } from './kernel-target';
import { LinkRecovery } from './link-recovery';
import { PacketLog, TracedLink } from './packet-log';
import { Session } from './session';
import { SnapshotStore, type SessionSnapshot } from './session-snapshot';
import { HostFiles } from './host-files';
import { symbolLookup } from './symbol-lookup';
import { loadSymbols, type LoadedSymbols } from '../symbols/loader';
import { LocalCode } from './local-code';

export interface BridgeOptions {
  /** tcp:HOST:PORT, unix:PATH, serial:DEVICE[:BAUD] or a device path. */
  target: string;
  listenHost: string;
  listenPort: number;
  log: Logger;
  baud?: number;
  packetLogPath?: string;
  handshakeTimeoutMs?: number;
  /** Pre-handshake lines from the target (firmware console), e.g. for progress output. */
  onNoise?: (line: string) => void;
  /** Where the session snapshot is kept; without it nothing is saved and --attach is impossible. */
  stateFile?: string;
  /** The kernel is already connected (a previous bridge handshook): attach from the snapshot, no handshake. */
  attach?: boolean;
  /** Reopen a dropped target link and carry on (default true). */
  reconnect?: boolean;
  /** Where the image and its PDB are: gdb then gets names and lines over the connection. */
  symbols?: SymbolOptions;
  /** Retry delays of the link recovery (tests shorten them). */
  reconnectDelayMs?: { initial: number; max: number };
  /** Opens the target link instead of `openLink(target)` (throttled, recorded or replayed links); also used to reopen it. */
  openTarget?: () => Promise<Link>;
  /** Sees every byte on each debugger connection (`--record`, replay checks). */
  rspTap?: RspTap;
  /** Told as the start moves on, for a status line (`josgdb serve`); see BridgePhase. */
  onPhase?: (phase: BridgePhase) => void;
}

/**
 * The steps of a start that can take long enough for a user to wonder, in order:
 * opening the link (tcp-listen waits for QEMU to connect), the handshake (or the
 * attach, which may turn into a handshake when the kernel rebooted), reading the
 * symbols (a large PDB, or the image out of target memory), and `listening` for
 * gdb, when the start is over. Handshakes after the start (a reset, a reboot)
 * are not phases: they are logged.
 */
export type BridgePhase = 'link' | 'handshake' | 'attach' | 'symbols' | 'listening';

export interface SymbolOptions {
  image?: string;
  pdb?: string;
  symbolPath?: string[];
  cacheDir?: string;
}

export interface RunningBridge {
  session: Session;
  server: GdbServer;
  client: KernelClient;
  /** The symbols gdb is served; undefined without --image/--pdb. */
  symbols: LoadedSymbols | undefined;
  /** The gdb port actually listened on (useful with port 0). */
  port: number;
  /** Resolves when the target link is gone for good (recovery gave up or was off). */
  readonly targetLost: Promise<string>;
  close(): Promise<void>;
}

/** How long a kernel that should be sitting in a stop gets to answer a CPUID before --attach gives up on it. */
const ATTACH_PROBE_MS = 3000;

export async function startBridge(options: BridgeOptions): Promise<RunningBridge> {
  const { log } = options;
  const packetLog = options.packetLogPath ? new PacketLog(options.packetLogPath) : undefined;
  const store = options.stateFile ? new SnapshotStore(options.stateFile) : undefined;
  const logLink = (link: Link): Link => (packetLog ? new TracedLink(link, packetLog) : link);
  const open = async () => logLink(await (options.openTarget ? options.openTarget() : openLink(options.target, { baud: options.baud })));

  options.onPhase?.('link');
  const link = await open();
  const client = new KernelClient(link, {
    logger: log.child({ layer: 'target' }),
    ...(link.description.startsWith('tcp:') || link.description.startsWith('unix:') ? { bytesPerSecond: 1_000_000 } : {}),
  });
  if (packetLog) client.on('connectionInfo', (info) => packetLog.write('target', 'in', `KernelConnectionInfo ${info.raw}`));

  let snapshot: SessionSnapshot | undefined;
  let info: KernelInfo;
  try {
    if (options.attach) {
      if (!store) throw new Error('attach needs a state file');
      snapshot = store.load(link.description);
      options.onPhase?.('attach');
      ({ info, snapshot } = await attach(client, snapshot, options));
    } else {
      options.onPhase?.('handshake');
      log.info(`connecting to the target on ${link.description}`);
      info = await client.connect({ handshakeTimeoutMs: options.handshakeTimeoutMs, onNoise: options.onNoise });
    }
  } catch (err) {
    client.close();
    await packetLog?.close();
    throw err;
  }
  log.info(
    `target connected: josx64 ${info.version.major}.${info.version.minor}.${info.version.patch}, image at 0x${info.imageBase.toString(16)}, ` +
      `features: ${info.features.size ? [...info.features].join(' ') : 'none (base protocol)'}`,
  );
  const target = new KernelTarget(client, info);
  // After a handshake the kernel holds its own breakpoint at main, which the host
  // never saw: unknown, so the first sync clears it. After an attach the list is
  // what the last bridge left.
  const session = new Session(target, log.child({ layer: 'bridge' }), {
    kernelBreakpoints: snapshot ? snapshot.kernelBreakpoints : 'unknown',
  });

  const persistence = store ? persistSession(store, client, target, session, log) : undefined;

  let resolveLost!: (reason: string) => void;
  const targetLost = new Promise<string>((resolve) => (resolveLost = resolve));
  session.onStateChange((state, detail) => {
    if (state === 'disconnected') resolveLost(detail ?? 'target link closed');
  });
  // Symbols, breakpoints and gdb's view of the image are at the first boot's base; a
  // firmware that loads the image elsewhere on the next boot makes all of them wrong.
  const warnIfImageMoved = (again: KernelInfo): void => {
    if (again.imageBase === info.imageBase) return;
    log.warn(
      `the new boot loaded the image at 0x${again.imageBase.toString(16)}, not at 0x${info.imageBase.toString(16)} as before: ` +
        `symbols and addresses in gdb are for the old base; restart josgdb and gdb for this boot`,
    );
  };
  const recovery =
    options.reconnect === false
      ? undefined
      : new LinkRecovery({
          client,
          target,
          reopen: open,
          log: log.child({ layer: 'target' }),
          initialDelayMs: options.reconnectDelayMs?.initial,
          maxDelayMs: options.reconnectDelayMs?.max,
          // A rebooted machine: forget the old boot (nothing of it survives, not even
          // the breakpoints gdb will insert again) and handshake with the new one.
          onRebooted: async () => {
            session.rebooted();
            client.forgetConnection('the kernel rebooted');
            try {
              const again = await client.connect({ handshakeTimeoutMs: options.handshakeTimeoutMs, onNoise: options.onNoise });
              log.info(`target connected again after a reboot, image at 0x${again.imageBase.toString(16)}`);
              warnIfImageMoved(again);
            } catch (err) {
              log.error(`the rebooted target did not handshake: ${errorMessage(err)}; the session ends: restart the target, then josgdb`);
              target.endSession(`no handshake after the reboot: ${errorMessage(err)}`);
            }
          },
        });

  // After `kill` on a target with reset, the machine reboots: handshake with the
  // new boot, whose first stop (at main) the session is waiting for.
  target.onReset(() => {
    log.info('the target is rebooting (reset); waiting for it to handshake again');
    client
      .connect({ handshakeTimeoutMs: options.handshakeTimeoutMs, onNoise: options.onNoise })
      .then((again) => {
        log.info(`target connected again after the reset, image at 0x${again.imageBase.toString(16)}`);
        warnIfImageMoved(again);
      })
      .catch((err) => {
        log.error(`the target did not come back after the reset: ${errorMessage(err)}; the session ends: restart the target, then josgdb`);
        target.endSession(`no handshake after the reset: ${errorMessage(err)}`);
      });
  });

  // The first stop can come in the same chunk as the connection info, before the session listened.
  target.replayLastStop();
  if (options.symbols) options.onPhase?.('symbols');
  const symbols = options.symbols ? await loadTargetSymbols(options.symbols, info, client, session, log) : undefined;
  const symbolFile = symbols ? serveSymbolFile(symbols, info.imageBase) : undefined;
  if (symbols?.imagePath !== undefined) {
    const imagePath = symbols.imagePath;
    session.memory.useLocalCode(
      new LocalCode(symbols.image, info.imageBase, (reason) =>
        log.warn(`the image file ${imagePath} is not what the target runs (${reason}): code is read from the target; check --image`),
      ),
    );
  }
  const server = new GdbServer({
    symbolFile,
    symbols: symbols ? symbolLookup(symbols.index, symbols.unwindImage, info.imageBase, symbols.image.sizeOfImage) : undefined,
    image: symbols,
    host: options.listenHost,
    port: options.listenPort,
    session,
    log: log.child({ layer: 'gdb' }),
    linkDescription: link.description,
    packetLog,
    tap: options.rspTap,
    // The phase ends the status line before the server logs where gdb connects.
    onListening: () => options.onPhase?.('listening'),
    setLogLevel: (level) => {
      if (!(level in log.levels.values)) return false;
      log.level = level;
      return true;
    },
  });
  try {
    await server.listen();
  } catch (err) {
    recovery?.stop();
    client.close();
    throw err;
  }
  return {
    session,
    server,
    client,
    symbols,
    port: server.address.port,
    targetLost,
    async close() {
      recovery?.stop();
      persistence?.flush();
      await server.close();
      client.close();
      await packetLog?.close();
    },
  };
}

/**
 * Attaches to the kernel the snapshot describes. A kernel said to be stopped is
 * asked for CPUID leaf 0 first: a kernel sitting in its stop loop answers at once,
 * a rebooted one (waiting for `josx` again) does not, and then the bridge
 * handshakes like a fresh start instead of talking into the void.
 */
async function attach(
  client: KernelClient,
  snapshot: SessionSnapshot,
  options: BridgeOptions,
): Promise<{ info: KernelInfo; snapshot: SessionSnapshot | undefined }> {
  const { log } = options;
  log.info(`attaching to the kernel on ${snapshot.target} without a handshake (saved ${snapshot.savedAt}, kernel ${snapshot.state})`);
  const info = await client.connect({
    attach: true,
    info: snapshot.kernelInfo,
    state: snapshot.state,
    lastStop: snapshot.lastStop,
    lastAssert: snapshot.lastAssert,
  });
  if (snapshot.state === 'running') return { info, snapshot };
  try {
    await withTimeout(client.cpuid(0, 0), ATTACH_PROBE_MS, 'CPUID probe');
    return { info, snapshot };
  } catch (err) {
    log.warn(
      `the kernel did not answer as a stopped kernel would (${errorMessage(err)}): it has probably rebooted; handshaking instead`,
    );
    client.forgetConnection('the kernel did not answer the attach probe');
    options.onPhase?.('handshake');
    const fresh = await client.connect({ handshakeTimeoutMs: options.handshakeTimeoutMs, onNoise: options.onNoise });
    return { info: fresh, snapshot: undefined };
  }
}

/**
 * Rewrites the snapshot after every change, coalesced per tick so that a stop,
 * its callstack and the state change it causes make one write, and so that the
 * session has applied a breakpoint update before the list is read.
 */
function persistSession(
  store: SnapshotStore,
  client: KernelClient,
  target: KernelTarget,
  session: Session,
  log: Logger,
): { flush(): void } {
  let scheduled = false;
  let warned = false;
  const save = () => {
    scheduled = false;
    const state = client.state;
    const info = client.info;
    if (state === 'disconnected' || !info) return;
    try {
      store.save({
        target: client.description,
        savedAt: new Date().toISOString(),
        kernelInfo: info,
        state,
        lastStop: state === 'stopped' ? client.lastStop : undefined,
        lastAssert: client.lastAssert,
        kernelBreakpoints: session.kernelBreakpoints.snapshot(),
      });
    } catch (err) {
      if (!warned) log.warn(`cannot save the session state to ${store.file}: ${errorMessage(err)} (--attach after a restart will not work)`);
      warned = true;
    }
  };
  const schedule = () => {
    if (scheduled) return;
    scheduled = true;
    setImmediate(save);
  };
  client.on('state', schedule);
  client.on('stop', schedule);
  client.on('assert', schedule);
  target.onKernelStateChanged(schedule);
  save();
  return {
    flush: () => {
      if (scheduled) save();
    },
  };
}

/**
 * Reads the image and its PDB. Without an image file the image is read out of
 * target memory at the reported base, which needs a stopped kernel (the first
 * stop at main is one). Problems are warnings: gdb still works without symbols.
 */
async function loadTargetSymbols(
  options: SymbolOptions,
  info: KernelInfo,
  client: KernelClient,
  session: Session,
  log: Logger,
): Promise<LoadedSymbols | undefined> {
  if (options.image === undefined) {
    // The first stop (at main) follows the connection info shortly.
    for (let waited = 0; client.state === 'running' && waited < 10_000; waited += 50) await sleep(50);
  }
  let bytesReadFromTarget = 0;
  const readImage =
    options.image === undefined
      ? async (rva: number, length: number) => {
          bytesReadFromTarget += length;
          if (client.state !== 'stopped') throw new Error('the image can only be read while the kernel is stopped');
          // Through the session: reads are split per page and request size, and
          // the kernel's breakpoint bytes read as the original code.
          const address = info.imageBase + BigInt(rva);
          const bytes = await session.readMemory(address, length);
          if (bytes.length !== length) throw new Error(`the image is not fully readable: memory at 0x${(address + BigInt(bytes.length)).toString(16)} is not mapped`);
          return bytes;
        }
      : undefined;
  try {
    const loaded = await loadSymbols({
      image: options.image,
      readImage,
      pdb: options.pdb,
      symbolPath: options.symbolPath,
      cacheDir: options.cacheDir,
      loadBase: info.imageBase,
      log: log.child({ layer: 'symbols' }),
    });
    for (const warning of loaded.warnings) log.warn(warning);
    const imageFrom = readImage ? `, image read from target memory (${bytesReadFromTarget} bytes)` : '';
    log.info(
      `symbols: ${loaded.imageName} from ${loaded.modelSource === 'pdb' ? loaded.pdbPath : 'the image alone (no matching PDB)'}, ` +
        `loaded at 0x${info.imageBase.toString(16)}${imageFrom}`,
    );
    return loaded;
  } catch (err) {
    log.warn(`no symbols for gdb (${errorMessage(err)}): names and source lines are missing; check with josgdb doctor --image FILE`);
    return undefined;
  }
}

/** The symbol file as gdb asks for it through `target:` (qXfer:exec-file, then vFile). */
function serveSymbolFile(symbols: LoadedSymbols, loadBase: bigint): { name: string; files: HostFiles } {
  const files = new HostFiles();
  const name = `/josgdb/${symbols.imageName}.debug`;
  files.serve(name, () => symbols.debugElf(loadBase));
  return { name, files };
}
