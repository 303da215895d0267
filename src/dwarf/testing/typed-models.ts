/**
 * A hand-built DebugModel with types and function scopes for the writer's
 * own tests, and the C source it mirrors: compiling that source with LLVM's
 * DWARF (`-gdwarf`, same target as the kernel) gives the oracle for what gdb
 * must print for the model's types. Each model type below is what the
 * matching declaration in TYPED_MODEL_SOURCE means in C.
 */
import type { DebugModel } from '../../symbols/debug-model';
import type { ModelFunctionScope, ModelType, ModelTypeInfo } from '../../symbols/debug-model-types';
import { sampleModel } from './models';

export const TYPED_MODEL_SOURCE = `
struct point { int x; int y; };
union number { int as_int; float as_float; unsigned char bytes[4]; };
struct flags { unsigned int ready : 1; unsigned int level : 3; int delta : 4; };
enum balance { BALANCE_NEGATIVE = -5, BALANCE_ZERO = 0, BALANCE_LARGE = 7 };
struct opaque;
typedef unsigned long long u64;
struct everything {
  struct point where;
  struct point *next;
  const char *name;
  int grid[2][3];
  union number number;
  struct flags flags;
  enum balance balance;
  struct opaque *handle;
  void *any;
  volatile int ticks;
  int (*callback)(int, ...);
  int *restrict only;
  _Bool ok;
  double ratio;
  struct { short low; short high; } pair;
};
struct everything gEverything;
u64 gWide;
int kmain(struct point *where, int count) { return count + where->x; }
`;

/** Indices into TYPES, by what they are. */
export const T = {
  void: 0,
  int: 1,
  char: 2,
  constChar: 3,
  pointerToConstChar: 4,
  point: 5,
  pointerToPoint: 6,
  unsignedChar: 7,
  float: 8,
  bytes4: 9,
  number: 10,
  unsignedInt: 11,
  flags: 12,
  balance: 13,
  opaque: 14,
  pointerToOpaque: 15,
  pointerToVoid: 16,
  volatileInt: 17,
  callbackType: 18,
  pointerToCallback: 19,
  pointerToInt: 20,
  restrictPointerToInt: 21,
  bool: 22,
  double: 23,
  grid: 24,
  short: 25,
  pair: 26,
  everything: 27,
  unsignedLongLong: 28,
  u64: 29,
  kmainType: 30,
} as const;

const TYPES: ModelType[] = [
  { kind: 'void' },
  { kind: 'base', name: 'int', byteSize: 4, encoding: 'signed' },
  { kind: 'base', name: 'char', byteSize: 1, encoding: 'signed-char' },
  { kind: 'const', target: T.char },
  { kind: 'pointer', target: T.constChar, byteSize: 8 },
  {
    kind: 'struct',
    name: 'point',
    byteSize: 8,
    declaration: false,
    members: [
      { name: 'x', type: T.int, byteOffset: 0, access: 'public' },
      { name: 'y', type: T.int, byteOffset: 4, access: 'public' },
    ],
    bases: [],
    methods: [],
    nestedTypes: [],
  },
  { kind: 'pointer', target: T.point, byteSize: 8 },
  { kind: 'base', name: 'unsigned char', byteSize: 1, encoding: 'unsigned-char' },
  { kind: 'base', name: 'float', byteSize: 4, encoding: 'float' },
  { kind: 'array', element: T.unsignedChar, dimensions: [4] },
  {
    kind: 'union',
    name: 'number',
    byteSize: 4,
    declaration: false,
    members: [
      { name: 'as_int', type: T.int, byteOffset: 0, access: 'public' },
      { name: 'as_float', type: T.float, byteOffset: 0, access: 'public' },
      { name: 'bytes', type: T.bytes4, byteOffset: 0, access: 'public' },
    ],
    bases: [],
    methods: [],
    nestedTypes: [],
  },
  { kind: 'base', name: 'unsigned int', byteSize: 4, encoding: 'unsigned' },
  {
    kind: 'struct',
    name: 'flags',
    byteSize: 4,
    declaration: false,
    members: [
      { name: 'ready', type: T.unsignedInt, byteOffset: 0, bitField: { bitOffset: 0, bitSize: 1 }, access: 'public' },
      { name: 'level', type: T.unsignedInt, byteOffset: 0, bitField: { bitOffset: 1, bitSize: 3 }, access: 'public' },
      { name: 'delta', type: T.int, byteOffset: 0, bitField: { bitOffset: 4, bitSize: 4 }, access: 'public' },
    ],
    bases: [],
    methods: [],
    nestedTypes: [],
  },
  {
    kind: 'enum',
    name: 'balance',
    byteSize: 4,
    underlying: T.int,
    declaration: false,
    enumerators: [
      { name: 'BALANCE_NEGATIVE', value: -5n },
      { name: 'BALANCE_ZERO', value: 0n },
      { name: 'BALANCE_LARGE', value: 7n },
    ],
  },
  { kind: 'struct', name: 'opaque', byteSize: 0, declaration: true, members: [], bases: [], methods: [], nestedTypes: [] },
  { kind: 'pointer', target: T.opaque, byteSize: 8 },
  { kind: 'pointer', target: T.void, byteSize: 8 },
  { kind: 'volatile', target: T.int },
  { kind: 'function', returnType: T.int, parameters: [T.int], variadic: true },
  { kind: 'pointer', target: T.callbackType, byteSize: 8 },
  { kind: 'pointer', target: T.int, byteSize: 8 },
  { kind: 'restrict', target: T.pointerToInt },
  { kind: 'base', name: '_Bool', byteSize: 1, encoding: 'boolean' },
  { kind: 'base', name: 'double', byteSize: 8, encoding: 'float' },
  { kind: 'array', element: T.int, dimensions: [2, 3] },
  { kind: 'base', name: 'short', byteSize: 2, encoding: 'signed' },
  {
    kind: 'struct',
    byteSize: 4,
    declaration: false,
    members: [
      { name: 'low', type: T.short, byteOffset: 0, access: 'public' },
      { name: 'high', type: T.short, byteOffset: 2, access: 'public' },
    ],
    bases: [],
    methods: [],
    nestedTypes: [],
  },
  {
    kind: 'struct',
    name: 'everything',
    byteSize: 128,
    declaration: false,
    members: [
      { name: 'where', type: T.point, byteOffset: 0, access: 'public' },
      { name: 'next', type: T.pointerToPoint, byteOffset: 8, access: 'public' },
      { name: 'name', type: T.pointerToConstChar, byteOffset: 16, access: 'public' },
      { name: 'grid', type: T.grid, byteOffset: 24, access: 'public' },
      { name: 'number', type: T.number, byteOffset: 48, access: 'public' },
      { name: 'flags', type: T.flags, byteOffset: 52, access: 'public' },
      { name: 'balance', type: T.balance, byteOffset: 56, access: 'public' },
      { name: 'handle', type: T.pointerToOpaque, byteOffset: 64, access: 'public' },
      { name: 'any', type: T.pointerToVoid, byteOffset: 72, access: 'public' },
      { name: 'ticks', type: T.volatileInt, byteOffset: 80, access: 'public' },
      { name: 'callback', type: T.pointerToCallback, byteOffset: 88, access: 'public' },
      { name: 'only', type: T.restrictPointerToInt, byteOffset: 96, access: 'public' },
      { name: 'ok', type: T.bool, byteOffset: 104, access: 'public' },
      { name: 'ratio', type: T.double, byteOffset: 112, access: 'public' },
      { name: 'pair', type: T.pair, byteOffset: 120, access: 'public' },
    ],
    bases: [],
    methods: [],
    nestedTypes: [],
  },
  { kind: 'base', name: 'unsigned long long', byteSize: 8, encoding: 'unsigned' },
  { kind: 'typedef', name: 'u64', target: T.unsignedLongLong },
  { kind: 'function', returnType: T.int, parameters: [T.pointerToPoint, T.int], variadic: false },
];

export function sampleTypeInfo(): ModelTypeInfo {
  return { types: structuredClone(TYPES), language: 'c' };
}

/** DWARF register numbers used below (psABI): rdx 1, rcx 2, rbp 6, rsp 7, r8 8, xmm0 17. */
export const KMAIN_SCOPE: ModelFunctionScope = {
  variables: [
    { name: 'where', type: T.pointerToPoint, isParameter: true, location: { kind: 'fixed', location: { kind: 'register', register: 2 } } },
    {
      name: 'count',
      type: T.int,
      isParameter: true,
      location: {
        kind: 'ranges',
        ranges: [
          { startRva: 0x1000, endRva: 0x1008, location: { kind: 'register', register: 1 } },
          { startRva: 0x1008, endRva: 0x1020, location: { kind: 'memory', base: 7, offset: 16 } },
        ],
      },
    },
    {
      name: 'spot',
      type: T.point,
      isParameter: false,
      location: {
        kind: 'ranges',
        ranges: [
          {
            startRva: 0x1004,
            endRva: 0x1010,
            location: { kind: 'pieces', pieces: [{ byteSize: 4, value: { kind: 'register', register: 8 } }, { byteSize: 4, value: undefined }] },
          },
        ],
      },
    },
    { name: 'gone', type: T.int, isParameter: false, location: { kind: 'optimized-out' } },
    { name: 'calls', type: T.int, isParameter: false, location: { kind: 'static', rva: 0x5020 } },
  ],
  blocks: [
    {
      rva: 0x1010,
      size: 0x20,
      variables: [{ name: 'ratio', type: T.double, isParameter: false, location: { kind: 'fixed', location: { kind: 'register', register: 17 } } }],
      blocks: [],
    },
  ],
};

/**
 * sampleModel() with types: kmain is `int kmain(struct point *where, int
 * count)` with locals in every kind of place, two data symbols have types,
 * one claimed by kmain's unit and one left to the shared unit.
 */
export function sampleTypedModel(): DebugModel {
  const model = sampleModel();
  model.types = sampleTypeInfo();
  const kmain = model.compileUnits[0]!.functions.find((f) => f.name === 'kmain')!;
  kmain.type = T.kmainType;
  kmain.scope = structuredClone(KMAIN_SCOPE);
  const data = model.dataSymbols;
  const counter = data.find((d) => d.name === 'gCounter')!;
  counter.type = T.u64;
  counter.compileUnit = 0;
  const table = data.find((d) => d.name === 'sTable')!;
  table.type = T.everything;
  return model;
}
