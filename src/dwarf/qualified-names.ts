/**
 * C++ qualified names ('outer::Box<outer::inner::Leaf>') split into their
 * scopes. The model names types the way the PDB does, fully qualified; DWARF
 * gives each DIE its own short name under namespace and class DIEs, from
 * which gdb rebuilds the qualified one. Separators inside template argument
 * lists and parentheses are not scope separators.
 */

/** ['outer', 'Box<outer::inner::Leaf>'] for 'outer::Box<outer::inner::Leaf>'. */
export function splitQualifiedName(name: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < name.length; i++) {
    const c = name[i];
    if (c === '<' || c === '(' || c === '[') depth++;
    else if ((c === '>' || c === ')' || c === ']') && depth > 0) depth--;
    else if (c === ':' && depth === 0 && name[i + 1] === ':') {
      parts.push(name.slice(start, i));
      start = i + 2;
      i++;
    }
  }
  parts.push(name.slice(start));
  // A leading '::' or a stray separator leaves empty parts; they name nothing.
  return parts.some((p) => p === '') ? [name] : parts;
}

/** The compilers' spellings of an anonymous namespace, which DWARF writes as a namespace without a name. */
export function isAnonymousNamespace(part: string): boolean {
  return part === '(anonymous namespace)' || part === '`anonymous namespace\'' || part === '<anonymous namespace>';
}
