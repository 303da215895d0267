/** PE/COFF reader: headers, sections and the directories josgdb needs, from a file or from target memory. */
export { parsePeImage } from './pe-image';
export type { PeImage, ParsePeOptions } from './pe-image';
export { readLoadedImage, MAX_LOADED_IMAGE_SIZE } from './loaded-image';
export type { ImageMemoryReader, ReadLoadedImageOptions } from './loaded-image';
export { DataDirectoryIndex, PeMachine, PeSubsystem, dataDirectory } from './headers';
export type { CoffFileHeader, DataDirectory, DosHeader, OptionalHeader, PeHeaders } from './headers';
export { SectionFlags, isExecutable, isWritable, sectionExtent } from './sections';
export type { PeSection } from './sections';
export { DebugType } from './debug-directory';
export type { CodeViewPdbInfo, DebugDirectoryEntry } from './debug-directory';
export type { PeExport, PeExportDirectory } from './exports';
export type { RuntimeFunction } from './pdata';
export { BaseRelocationType, baseRelocationTypeName } from './relocations';
export type { BaseRelocation, BaseRelocationBlock } from './relocations';
export type { PeLayout } from './image-bytes';
