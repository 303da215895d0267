/**
 * Nesting of module symbols. Procedures, blocks, thunks and inline sites open
 * a scope that the next unmatched S_END / S_PROC_ID_END / S_INLINESITE_END
 * closes; the records also carry parent/end offsets. The tree is built from
 * the record order with a stack, never by following stored offsets, so a
 * corrupt parent pointer cannot send a walk into a cycle. The stored offsets
 * are kept on each record for callers that want to compare.
 */
import { isScopeEnd, isScopeStart } from './symbol-records';
import type { CvSymbol, ScopeEndSymbol, ScopeSymbol } from './symbol-records';

export interface SymbolScope {
  symbol: ScopeSymbol;
  /** The closing record; undefined when the stream ended first. */
  endSymbol: ScopeEndSymbol | undefined;
  /** The enclosing scope; undefined at module level. */
  parent: SymbolScope | undefined;
  /** Records directly inside this scope: leaf records and nested scopes, in order. */
  children: SymbolNode[];
}

export type SymbolNode = { scope: SymbolScope } | { symbol: CvSymbol };

export interface SymbolTree {
  /** Module-level records and top-level scopes, in order. */
  roots: SymbolNode[];
  /** Every scope by the offset of its opening record. */
  scopesByOffset: Map<number, SymbolScope>;
  /** End records with no open scope (tolerated, but reported for diagnostics). */
  unmatchedEnds: ScopeEndSymbol[];
}

export function buildSymbolTree(symbols: readonly CvSymbol[]): SymbolTree {
  const roots: SymbolNode[] = [];
  const scopesByOffset = new Map<number, SymbolScope>();
  const unmatchedEnds: ScopeEndSymbol[] = [];
  let current: SymbolScope | undefined;
  const add = (node: SymbolNode): void => {
    (current ? current.children : roots).push(node);
  };
  for (const s of symbols) {
    if (isScopeStart(s)) {
      const scope: SymbolScope = { symbol: s, endSymbol: undefined, parent: current, children: [] };
      add({ scope });
      scopesByOffset.set(s.recordOffset, scope);
      current = scope;
    } else if (isScopeEnd(s)) {
      if (current) {
        current.endSymbol = s;
        current = current.parent;
      } else {
        unmatchedEnds.push(s);
      }
    } else {
      add({ symbol: s });
    }
  }
  return { roots, scopesByOffset, unmatchedEnds };
}

/** Depth-first walk of a scope's contents (not the scope record itself). */
export function* walkScope(scope: SymbolScope): Generator<{ symbol: CvSymbol; depth: number }> {
  const stack: { nodes: SymbolNode[]; i: number; depth: number }[] = [{ nodes: scope.children, i: 0, depth: 1 }];
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    const node = top.nodes[top.i++];
    if (!node) {
      stack.pop();
      continue;
    }
    if ('scope' in node) {
      yield { symbol: node.scope.symbol, depth: top.depth };
      stack.push({ nodes: node.scope.children, i: 0, depth: top.depth + 1 });
    } else {
      yield { symbol: node.symbol, depth: top.depth };
    }
  }
}
