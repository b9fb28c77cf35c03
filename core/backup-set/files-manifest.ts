import { arrayOf, integer, nullable, object, oneOf, optional, relativePath, string } from './schema';

/**
 * What a Protheus file-tree set's manifest records: the folders backed up and, in the inventory,
 * the index of the whole tree at dump time (every entry, also those unchanged since the parent),
 * what changed, and which set's archive holds each file's content. A chain restores from the
 * last manifest alone: its index is the tree to reproduce, `from` says where each file lives.
 */
export interface FilesSourceFacts {
	host: string;
	platform: string;
	/** The folders (or single files) backed up, by the label their entries have in the archive. */
	roots: FilesRoot[];
	/** When the roots came from an appserver.ini: the file and the environments read from it. */
	appserverIni: { path: string; environments: string[] } | null;
	include: string[];
	exclude: string[];
	/** How changes were found: size + mtime, or also the content hash (paranoid). */
	changeDetection: 'size-mtime' | 'sha256';
	/** The archiver: "tar-stream <version> + zstd <version>" etc. */
	archiver: string;
}

export interface FilesRoot {
	/** First path segment of this root's entries in the index and the archive. */
	label: string;
	/** Absolute path on the backed-up host. */
	path: string;
	kind: 'folder' | 'file';
}

export type FileEntryType = 'file' | 'dir' | 'symlink';

export interface FileEntry {
	/** `<root label>/<path inside the root>`, forward slashes. */
	path: string;
	type: FileEntryType;
	/** Bytes of content (files); 0 otherwise. */
	size: number;
	/** ISO-8601 UTC, millisecond precision. */
	mtime: string;
	/** Permission bits (mode & 0o7777). */
	mode: number;
	/** Files: SHA-256 of the content stored in the archive. */
	sha256: string | null;
	/** Symlinks: the link's target, as stored in the link. */
	target: string | null;
	/** Files: backupId of the set whose archive holds this content (this set or an ancestor). */
	from: string | null;
	/** Owner and group ids on the backed-up host (absent in sets made before owners were indexed). */
	uid?: number;
	gid?: number;
	/** Their names on the backed-up host; absent (or null) when it did not know them. */
	uname?: string | null;
	gname?: string | null;
}

export interface FilesInventory {
	engine: 'protheus-files';
	/** The tree at dump time, sorted by path. */
	entries: FileEntry[];
	/** Against the parent (incremental) or the base full (differential); a full lists nothing. */
	changes: { added: string[]; changed: string[]; deleted: string[] };
	/** Files whose size or mtime differed before and after they were read (written during the backup). */
	inconsistent: Array<{ path: string; reason: string }>;
	/** Entries not backed up: sockets, FIFOs, devices, unreadable or vanished files. */
	skipped: Array<{ path: string; reason: string }>;
	/** Set when an incremental or differential was asked for and a full was made instead. */
	promotedToFull: { requested: 'differential' | 'incremental'; reason: string } | null;
	totals: {
		files: number;
		dirs: number;
		symlinks: number;
		bytes: number;
		archivedFiles: number;
		archivedBytes: number;
	};
}

const label = string(/^(?!\.\.?$)[^/\\\0]+$/, 'a root label (one path segment, not "." or "..")');
// A scanned file name may hold a newline or a backslash: checked segment by segment (see relativePath).
const entryPath = relativePath('a relative path without ".."', { strict: false });
const sha256 = string(/^[0-9a-f]{64}$/, '64 lowercase hex characters');
const issue = object({ path: string(), reason: string() });

export const filesSourceSchema = object({
	host: string(),
	platform: string(),
	roots: arrayOf(object({ label, path: string(), kind: oneOf('folder', 'file') })),
	appserverIni: nullable(object({ path: string(), environments: arrayOf(string()) })),
	include: arrayOf(string()),
	exclude: arrayOf(string()),
	changeDetection: oneOf('size-mtime', 'sha256'),
	archiver: string(),
});

export const filesInventorySchema = object({
	engine: oneOf('protheus-files'),
	entries: arrayOf(
		object({
			path: entryPath,
			type: oneOf('file', 'dir', 'symlink'),
			size: integer(),
			mtime: string(),
			mode: integer(),
			sha256: nullable(sha256),
			target: nullable(string()),
			from: nullable(string()), // a backupId of the manifest's environment: checked in manifest.ts
			uid: optional(integer()),
			gid: optional(integer()),
			uname: optional(nullable(string())),
			gname: optional(nullable(string())),
		}),
	),
	changes: object({ added: arrayOf(string()), changed: arrayOf(string()), deleted: arrayOf(string()) }),
	inconsistent: arrayOf(issue),
	skipped: arrayOf(issue),
	promotedToFull: nullable(object({ requested: oneOf('differential', 'incremental'), reason: string() })),
	totals: object({
		files: integer(),
		dirs: integer(),
		symlinks: integer(),
		bytes: integer(),
		archivedFiles: integer(),
		archivedBytes: integer(),
	}),
});

export const FILES_ARCHIVE_KIND = 'tar';
