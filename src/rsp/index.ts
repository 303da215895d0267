/**
 * The GDB side of josgdb: framing, packet parsers, register table, reply
 * builders and the session loop. Knows nothing about the josx64 protocol; the
 * bridge translates between the two.
 */
export * from './errors';
export * from './hex';
export * from './framing';
export * from './commands';
export * from './command-specs';
export * from './registers';
export * from './stop-reply';
export * from './connection';
export * from './lldb-replies';
export * from './library-list';
