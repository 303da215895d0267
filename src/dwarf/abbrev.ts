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

/**
 * A step in the lookup of a shape: from (tag, children) through each
 * (attribute, form) pair, by small integers. A string key per DIE (hundreds
 * of thousands of them) cost more than the rest of writing the DIE.
 */
interface ShapeNode {
  next: Map<number, ShapeNode> | undefined;
  abbrev: Abbrev | undefined;
}

const newNode = (): ShapeNode => ({ next: undefined, abbrev: undefined });

function step(node: ShapeNode, key: number): ShapeNode {
  node.next ??= new Map();
  let child = node.next.get(key);
  if (!child) {
    child = newNode();
    node.next.set(key, child);
  }
  return child;
}

export class AbbrevTable {
  private readonly root = newNode();
  private readonly list: Abbrev[] = [];

  /** The code for this shape, adding an abbreviation if it is new. */
  intern(tag: number, hasChildren: boolean, specs: readonly AttrSpec[]): number {
    const flat: number[] = [];
    for (const s of specs) flat.push(s.at, s.form, 0);
    return this.internFlat(tag, hasChildren, flat);
  }

  /** `intern` for attributes as flat (attribute, form, value) triples, as a Die holds them; values are ignored. */
  internFlat(tag: number, hasChildren: boolean, triples: readonly unknown[]): number {
    let node = step(this.root, tag * 2 + (hasChildren ? 1 : 0));
    // An end mark after the pairs, so a shape and a longer one that extends it stay apart.
    for (let i = 0; i < triples.length; i += 3) node = step(step(node, triples[i] as number), triples[i + 1] as number);
    node = step(node, -1);
    if (node.abbrev) return node.abbrev.code;
    const specs: AttrSpec[] = [];
    for (let i = 0; i < triples.length; i += 3) specs.push({ at: triples[i] as number, form: triples[i + 1] as number });
    const abbrev: Abbrev = { code: this.list.length + 1, tag, hasChildren, specs };
    node.abbrev = abbrev;
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
