/**
 * Builds the symbol-reader fixtures (test/fixtures/symbols) with clang and
 * lld-link into a PE image with its CodeView PDB, once per source revision:
 * the output lands in a cache directory named by a hash of the sources and
 * flags, so test files share one build and a changed source rebuilds.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const FIXTURE_SOURCES = join(__dirname, '..', 'fixtures', 'symbols');

export interface FixtureImage {
  /** The PE image (an EFI application). */
  image: string;
  pdb: string;
  /** Object files, one per source module. */
  objects: string[];
}

const COMPILE_C = [
  '-target', 'x86_64-unknown-windows', '-ffreestanding', '-fno-stack-protector', '-mno-red-zone',
  '-fno-builtin', '-mno-stack-arg-probe', '-gcodeview', '-g', '-O1', '-funwind-tables',
];
const COMPILE_CXX = [...COMPILE_C, '-fno-exceptions', '-fno-rtti'];
const LINK = ['/subsystem:efi_application', '/entry:fixture_entry', '/nodefaultlib', '/debug', '/dynamicbase'];

function sourceHash(): string {
  const hash = createHash('sha256');
  for (const name of readdirSync(FIXTURE_SOURCES).sort()) {
    hash.update(name).update(readFileSync(join(FIXTURE_SOURCES, name)));
  }
  hash.update(JSON.stringify([COMPILE_C, COMPILE_CXX, LINK]));
  return hash.digest('hex').slice(0, 16);
}

/** Builds (or reuses) the fixture image; `name` picks the output file names. */
export function buildSymbolFixture(name = 'fixture'): FixtureImage {
  const dir = join(tmpdir(), 'josgdb-symbol-fixtures', sourceHash());
  const result: FixtureImage = {
    image: join(dir, `${name}.efi`),
    pdb: join(dir, `${name}.pdb`),
    objects: [],
  };
  const sources = readdirSync(FIXTURE_SOURCES).filter((f) => /\.(c|cpp)$/.test(f)).sort();
  result.objects = sources.map((s) => join(dir, s.replace(/\.(c|cpp)$/, '.obj')));
  if (existsSync(result.image) && existsSync(result.pdb)) return result;

  // Build in a private directory and rename into place, so parallel jest
  // workers never see a half-written image.
  const work = `${dir}.tmp-${process.pid}`;
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const objects: string[] = [];
  for (const source of sources) {
    const object = join(work, source.replace(/\.(c|cpp)$/, '.obj'));
    const flags = source.endsWith('.cpp') ? ['--driver-mode=g++', ...COMPILE_CXX] : COMPILE_C;
    execFileSync('clang', [...flags, '-c', join(FIXTURE_SOURCES, source), '-o', object], { stdio: 'pipe' });
    objects.push(object);
  }
  execFileSync(
    'lld-link',
    [...LINK, `/pdb:${join(work, `${name}.pdb`)}`, `/out:${join(work, `${name}.efi`)}`, ...objects],
    { stdio: 'pipe' },
  );
  mkdirSync(join(tmpdir(), 'josgdb-symbol-fixtures'), { recursive: true });
  try {
    renameSync(work, dir);
  } catch {
    // Another worker won the race; its build is identical.
    rmSync(work, { recursive: true, force: true });
  }
  return result;
}
