/**
 * A NUL-terminated string table with each distinct string stored once, for
 * .debug_str, .strtab and .shstrtab. `add` returns the string's offset at once,
 * so callers can write references without a fixup pass.
 */
import { SectionWriter } from './section-writer';

export class StringTable {
  private readonly offsets = new Map<string, number>();
  private readonly writer: SectionWriter;

  /**
   * @param leadingEmpty start with the empty string at offset 0, as ELF string
   *   tables must (index 0 means "no name").
   */
  constructor(name: string, leadingEmpty: boolean) {
    this.writer = new SectionWriter(name, 4096);
    if (leadingEmpty) this.add('');
  }

  /** Offset of `s` in the table, adding it if new. */
  add(s: string): number {
    const known = this.offsets.get(s);
    if (known !== undefined) return known;
    const at = this.writer.offset;
    this.writer.cstring(s);
    this.offsets.set(s, at);
    return at;
  }

  get size(): number {
    return this.writer.offset;
  }

  finish(): Buffer {
    return this.writer.finish();
  }
}
