/**
 * The .debug_abbrev builder: every distinct (tag, has-children, attribute/form
 * list) gets one abbreviation code, handed out in first-use order so the output
 * is deterministic. One table serves every unit in .debug_info (all headers
 * point at offset 0).
 */
import { SectionWriter } from './section-writer';

export interface AttrSpec {
  /** DW_AT_* */
  at: number;
  /** DW_FORM_* */
  form: number;
}

interface Abbrev {
  code: number;
  tag: number;
  hasChildren: boolean;
  specs: AttrSpec[];
}

export class AbbrevTable {
  private readonly byKey = new Map<string, Abbrev>();
  private readonly list: Abbrev[] = [];

  /** The code for this shape, adding an abbreviation if it is new. */
  intern(tag: number, hasChildren: boolean, specs: readonly AttrSpec[]): number {
    let key = `${tag}${hasChildren ? '+' : '-'}`;
    for (const s of specs) key += `${s.at}:${s.form},`;
    const known = this.byKey.get(key);
    if (known) return known.code;
    const abbrev: Abbrev = {
      code: this.list.length + 1,
      tag,
      hasChildren,
      specs: specs.map((s) => ({ at: s.at, form: s.form })),
    };
    this.byKey.set(key, abbrev);
    this.list.push(abbrev);
    return abbrev.code;
  }

  get count(): number {
    return this.list.length;
  }

  /** The .debug_abbrev bytes: each abbreviation, then a terminating 0 code. */
  encode(): Buffer {
    const w = new SectionWriter('.debug_abbrev', 64 + this.list.length * 16);
    for (const a of this.list) {
      w.uleb(a.code).uleb(a.tag).u8(a.hasChildren ? 1 : 0);
      for (const s of a.specs) w.uleb(s.at).uleb(s.form);
      w.u8(0).u8(0);
    }
    w.u8(0);
    return w.finish();
  }
}
