import { FileIoErrno, HostFiles, hostIoReply } from './host-files';

describe('HostFiles', () => {
  const content = Buffer.from('\x7fELF and then some bytes', 'latin1');

  it('serves only its own files, read-only, and produces content once', () => {
    let produced = 0;
    const files = new HostFiles();
    files.serve('/josgdb/kernel.debug', () => {
      produced++;
      return content;
    });
    const open = files.openFile('/josgdb/kernel.debug', 0);
    expect(open).toEqual({ ok: true, value: 3 });
    expect(files.openFile('/josgdb/kernel.debug', 0)).toEqual({ ok: true, value: 4 });
    expect(produced).toBe(1);
    expect(files.openFile('/etc/passwd', 0)).toMatchObject({ ok: false, errno: FileIoErrno.ENOENT });
    expect(files.openFile('/josgdb/../etc/passwd', 0)).toMatchObject({ ok: false, errno: FileIoErrno.ENOENT });
    expect(files.openFile('/josgdb/kernel.debug', 0x1)).toMatchObject({ ok: false, errno: FileIoErrno.EACCES });
    expect(files.openFile('/josgdb/kernel.debug', 0x202)).toMatchObject({ ok: false, errno: FileIoErrno.EACCES });
  });

  it('reads at offsets, stats, closes, and refuses unknown descriptors', () => {
    const files = new HostFiles();
    files.serve('/f', () => content);
    const fd = (files.openFile('/f', 0) as { value: number }).value;
    expect(files.pread(fd, 4, 0)).toEqual({ ok: true, value: 4, data: content.subarray(0, 4) });
    expect(files.pread(fd, 100, content.length - 3)).toMatchObject({ ok: true, value: 3 });
    expect(files.pread(fd, 10, content.length + 10)).toMatchObject({ ok: true, value: 0 });
    const st = files.fstat(fd);
    expect(st.ok && st.data!.readBigUInt64BE(28)).toBe(BigInt(content.length));
    expect(st.ok && st.data!.readUInt32BE(8)).toBe(0o100444);
    expect(files.close(fd)).toEqual({ ok: true, value: 0 });
    expect(files.pread(fd, 1, 0)).toMatchObject({ ok: false, errno: FileIoErrno.EBADF });
    expect(files.close(99)).toMatchObject({ ok: false, errno: FileIoErrno.EBADF });
  });

  it('a producer that throws is EIO, not a crash', () => {
    const files = new HostFiles();
    files.serve('/broken', () => {
      throw new Error('PDB stream 3 truncated');
    });
    expect(files.openFile('/broken', 0)).toMatchObject({ ok: false, errno: FileIoErrno.EIO, why: expect.stringContaining('truncated') });
  });

  it('formats F replies', () => {
    expect(hostIoReply({ ok: true, value: 3 }).toString()).toBe('F3');
    expect(hostIoReply({ ok: false, errno: 2, why: '' }).toString()).toBe('F-1,2');
    expect(hostIoReply({ ok: true, value: 2, data: Buffer.from('$#') }).toString('latin1')).toBe('F2;$#');
  });
});
