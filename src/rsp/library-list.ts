/**
 * The `qXfer:libraries:read` document (gdb's library-list format) in the form
 * lldb reads it: lldb takes `<section address>` as the address the file's
 * headers are loaded at (its PE reader turns that into a slide), while gdb
 * would take it as the first section's address. The bridge therefore serves a
 * non-empty list to lldb only.
 *
 *     <library-list>
 *       <library name="/host/path/BOOTX64.EFI"><section address="0x6b3e000"/></library>
 *     </library-list>
 */

export interface LibraryEntry {
  /** A path on the debugger's host: lldb opens the file itself. */
  path: string;
  /** Where the image's headers (its base) are loaded. */
  base: bigint;
}

function xmlAttr(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function libraryListXml(libraries: readonly LibraryEntry[]): string {
  const body = libraries.map((l) => `<library name="${xmlAttr(l.path)}"><section address="0x${l.base.toString(16)}"/></library>`);
  return `<library-list>${body.join('')}</library-list>`;
}
