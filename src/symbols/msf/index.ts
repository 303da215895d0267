export { MsfFile, openMsf } from './msf-file';
export { MSF_MAGIC, readSuperBlock } from './superblock';
export type { MsfSuperBlock } from './superblock';
export { NIL_STREAM_SIZE } from './directory';
export type { MsfStreamEntry } from './directory';
