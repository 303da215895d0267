/**
 * Types and variables in the DebugModel: what the PDB's TPI stream and module
 * symbols say about the program's data, in a format-free shape the DWARF
 * writer turns into type and variable DIEs.
 */

/** Refers to one type of ModelTypeInfo (its meaning is the type translation's to define). */
export type ModelTypeRef = number;

/** Every type the image's debug info describes, shared by all compile units. */
export interface ModelTypeInfo {
  /** Placeholder until the type translation lands. */
  readonly pending?: never;
}

/** The variables and lexical blocks of one function. */
export interface ModelFunctionScope {
  /** Placeholder until the variable translation lands. */
  readonly pending?: never;
}
