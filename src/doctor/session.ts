/**
 * Checks of what one session will use: the target link (opened and closed at
 * once, nothing sent, so a kernel waiting for its debugger is not disturbed)
 * and the kernel image with its PDB (read the way `josgdb serve` reads them).
 */
import { errorMessage, isJosgdbError } from '../common/errors';
import { openLink, parseLinkSpec, type Link } from '../link';
import { loadSymbols } from '../symbols/loader';
import type { CheckResult } from './check-result';

/** What to try when a link of this kind cannot be opened. */
function linkFix(spec: string): string {
  let kind: string;
  try {
    kind = parseLinkSpec(spec).kind;
  } catch {
    return 'fix the --target spec (see docs/hardware.md for the forms it takes)';
  }
  switch (kind) {
    case 'tcp':
      return 'start the VM first, with its debug UART on that port: qemu-system-x86_64 ... -serial tcp:HOST:PORT,server=on,wait=off,nodelay=on';
    case 'tcp-listen':
      return 'start QEMU so that it connects to josgdb: qemu-system-x86_64 ... -serial tcp:HOST:PORT (no server=on)';
    case 'unix':
      return 'start the VM first with -serial unix:PATH,server=on,wait=off, and check the socket path';
    default:
      return 'check the device name (ls /dev/ttyUSB* /dev/ttyS*) and that you may open it: sudo usermod -aG dialout $USER, then log in again';
  }
}

export async function checkTarget(spec: string, timeoutMs: number): Promise<CheckResult> {
  try {
    const link = await openWithin(spec, timeoutMs);
    link.close();
    return { name: 'target', status: 'ok', detail: `${spec} opens` };
  } catch (e) {
    const why = isJosgdbError(e) && e.code === 'BAD_ARGUMENT' ? errorMessage(e) : `${spec} cannot be opened: ${errorMessage(e)}`;
    return { name: 'target', status: 'problem', detail: why, fix: linkFix(spec) };
  }
}

/** Opens the link, giving up after `ms`; a link that opens after that is closed, not leaked. */
function openWithin(spec: string, ms: number): Promise<Link> {
  let gaveUp = false;
  const opening = openLink(spec, { connectTimeoutMs: ms });
  opening.then(
    (link) => gaveUp && link.close(),
    () => undefined,
  );
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      gaveUp = true;
      reject(new Error(`no connection within ${ms} ms (a slow network or target? raise --target-timeout)`));
    }, ms);
  });
  return Promise.race([opening, timeout]).finally(() => clearTimeout(timer));
}

/** The image parses, and a PDB is found that matches it by GUID and age (or the one given does). */
export async function checkImage(image: string, pdb: string | undefined): Promise<CheckResult[]> {
  let loaded;
  try {
    loaded = await loadSymbols({ image, ...(pdb !== undefined ? { pdb } : {}), cache: false });
  } catch (e) {
    return [
      {
        name: 'image',
        status: 'problem',
        detail: errorMessage(e),
        fix: 'pass the kernel\'s PE/COFF image as --image (the .EFI lld-link wrote, not an ELF or a disk image)',
      },
    ];
  }
  const results: CheckResult[] = [];
  const codeView = loaded.image.codeView;
  const identity = codeView ? ` (PDB GUID ${codeView.guid}, age ${codeView.age})` : '';
  results.push({ name: 'image', status: 'ok', detail: `${image} is a PE/COFF image${identity}` });
  for (const warning of loaded.warnings) {
    results.push({
      name: 'pdb',
      status: 'problem',
      detail: warning,
      fix: 'rebuild the image and its PDB together (clang -gcodeview -g, lld-link /debug) and pass that PDB with --pdb',
    });
  }
  if (loaded.modelSource === 'pdb' && loaded.pdbPath) {
    results.push({ name: 'pdb', status: 'ok', detail: `${loaded.pdbPath} matches the image` });
  } else if (loaded.warnings.length === 0) {
    results.push({
      name: 'pdb',
      status: 'problem',
      detail: 'no PDB for the image was found',
      fix: 'build with clang -gcodeview -g and lld-link /debug, then pass the PDB with --pdb',
    });
  }
  return results;
}
