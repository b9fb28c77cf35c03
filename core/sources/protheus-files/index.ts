/** The Protheus file tree's entry point: nodes and orchestration import the engine from here only. */
export { ProtheusFilesSource, defaultFilesOptions, type FilesDumpOptions } from './files-source';
export type { ArchiveCompression } from './compression';
export { PROTHEUS_DEFAULT_EXCLUDE, PROTHEUS_DEFAULT_INCLUDE } from './patterns';
