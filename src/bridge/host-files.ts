/**
 * The files gdb may read through Host I/O (`vFile:*`), and nothing else. josgdb
 * serves the symbol file it synthesised for the target's image, under a name of
 * its own; any other path or name is refused with ENOENT, so a debugger that can
 * reach the bridge cannot read the host's files through it. Writes and unlinks
 * are refused with EACCES. Content is produced on first open (building the
 * ELF costs time only when gdb asks for it).
 */
import { errorMessage } from '../common/errors';

/** gdb's File-I/O errno values (the RSP manual's "Errno Values"), not the host's. */
export const FileIoErrno = {
  EPERM: 1,
  ENOENT: 2,
  EBADF: 9,
  EACCES: 13,
  EINVAL: 22,
  EMFILE: 24,
  EIO: 5,
} as const;

export type HostIoResult = { ok: true; value: number; data?: Buffer } | { ok: false; errno: number; why: string };

const MAX_OPEN = 16;
/** gdb's O_WRONLY|O_RDWR|O_CREAT|O_TRUNC|O_APPEND|O_EXCL bits in File-I/O flags. */
const WRITE_FLAGS = 0x1 | 0x2 | 0x8 | 0x200 | 0x400 | 0x800;

export class HostFiles {
  private readonly files = new Map<string, () => Buffer>();
  private readonly contents = new Map<string, Buffer>();
  private readonly open = new Map<number, Buffer>();
  private nextFd = 3;

  /** Serves `name` (an absolute path as gdb will ask for it), produced by `content` on first open. */
  serve(name: string, content: () => Buffer): void {
    this.files.set(name, content);
    this.contents.delete(name);
  }

  get names(): string[] {
    return [...this.files.keys()];
  }

  /** Closes every descriptor: a new debugger starts with none. */
  reset(): void {
    this.open.clear();
    this.nextFd = 3;
  }

  openFile(filename: string, flags: number): HostIoResult {
    const produce = this.files.get(filename);
    if (!produce) return { ok: false, errno: FileIoErrno.ENOENT, why: `${filename} is not a file josgdb serves` };
    if (flags & WRITE_FLAGS) return { ok: false, errno: FileIoErrno.EACCES, why: `${filename} is read-only` };
    if (this.open.size >= MAX_OPEN) return { ok: false, errno: FileIoErrno.EMFILE, why: 'too many open files' };
    let content = this.contents.get(filename);
    if (!content) {
      try {
        content = produce();
      } catch (err) {
        return { ok: false, errno: FileIoErrno.EIO, why: `cannot produce ${filename}: ${errorMessage(err)}` };
      }
      this.contents.set(filename, content);
    }
    const fd = this.nextFd++;
    this.open.set(fd, content);
    return { ok: true, value: fd };
  }

  pread(fd: number, count: number, offset: number): HostIoResult {
    const content = this.open.get(fd);
    if (!content) return { ok: false, errno: FileIoErrno.EBADF, why: `fd ${fd} is not open` };
    const data = content.subarray(Math.min(offset, content.length), Math.min(offset + count, content.length));
    return { ok: true, value: data.length, data };
  }

  /** gdb's `struct stat` for File-I/O: 64 bytes, big endian (RSP manual, "struct stat"). */
  fstat(fd: number): HostIoResult {
    const content = this.open.get(fd);
    if (!content) return { ok: false, errno: FileIoErrno.EBADF, why: `fd ${fd} is not open` };
    const st = Buffer.alloc(64);
    st.writeUInt32BE(0o100444, 8); // st_mode: regular file, read-only
    st.writeUInt32BE(1, 12); // st_nlink
    st.writeBigUInt64BE(BigInt(content.length), 28); // st_size
    st.writeBigUInt64BE(4096n, 36); // st_blksize
    st.writeBigUInt64BE(BigInt(Math.ceil(content.length / 512)), 44); // st_blocks
    return { ok: true, value: st.length, data: st };
  }

  close(fd: number): HostIoResult {
    if (!this.open.delete(fd)) return { ok: false, errno: FileIoErrno.EBADF, why: `fd ${fd} is not open` };
    return { ok: true, value: 0 };
  }
}

/** The `F` reply of a Host I/O request: `Fresult[;attachment]` or `F-1,errno`. */
export function hostIoReply(result: HostIoResult): Buffer {
  if (!result.ok) return Buffer.from(`F-1,${result.errno.toString(16)}`);
  const head = Buffer.from(`F${result.value.toString(16)}`);
  return result.data ? Buffer.concat([head, Buffer.from(';'), result.data]) : head;
}
