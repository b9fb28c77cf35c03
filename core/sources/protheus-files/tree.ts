import { lstatSync, readdirSync, type Dirent, type Stats } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import type { FileEntryType, FilesRoot } from '../../backup-set/files-manifest';
import { BackupError, systemErrorCode } from '../../errors';
import { FsPacer } from './fs-pacer';
import { nameOwners } from './owner-names';
import type { Selection } from './patterns';

/** One entry found on disk, before it is archived. */
export interface TreeEntry {
	/** Index path: `<root label>/<inside>`. */
	path: string;
	absolute: string;
	type: FileEntryType;
	size: number;
	mtimeMs: number;
	mode: number;
	uid: number;
	gid: number;
	/** The names of uid and gid on this machine; unset when it does not know them. */
	uname?: string;
	gname?: string;
	target: string | null;
	/**
	 * Device and inode the scan saw: the reader opens the path much later and archives it only
	 * when it is still this very file (not a link, FIFO or another file swapped in meanwhile).
	 */
	dev?: number;
	ino?: number;
}

export interface TreeScan {
	entries: TreeEntry[];
	skipped: Array<{ path: string; reason: string }>;
	/** Folders never read, such as the staging folder when it lies inside a backed-up folder. */
	ignore?: Set<string>;
	pacer?: FsPacer;
}

export const isoMtime = (mtimeMs: number) => new Date(Math.floor(mtimeMs)).toISOString();

/** Labels are the roots' folder names, made unique (`apo`, `apo-2`) so two roots never mix. */
export function labelRoots(paths: Array<{ path: string; kind: FilesRoot['kind'] }>): FilesRoot[] {
	const used = new Set<string>();
	return paths.map(({ path, kind }) => {
		const name = basename(path.replace(/[\\/]+$/, '')) || 'root';
		let label = name;
		for (let n = 2; used.has(label.toLowerCase()); n++) label = `${name}-${n}`;
		used.add(label.toLowerCase());
		return { label, path, kind };
	});
}

function typeOf(stats: Stats | Dirent): FileEntryType | string {
	if (stats.isFile()) return 'file';
	if (stats.isDirectory()) return 'dir';
	if (stats.isSymbolicLink()) return 'symlink';
	if (stats.isFIFO()) return 'FIFO';
	if (stats.isSocket()) return 'socket';
	if (stats.isCharacterDevice()) return 'character device';
	if (stats.isBlockDevice()) return 'block device';
	return 'unknown file type';
}

const byName = (a: Dirent, b: Dirent) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/**
 * Walks the roots in a stable order (depth first, names sorted), applying the selection.
 * Folders are kept when they match an include or hold something included, so empty folders
 * inside included areas survive; excluded folders are not read at all. Symlinks are recorded,
 * never followed. Special files are reported, not archived.
 */
export async function scanTree(
	roots: FilesRoot[],
	selection: Selection,
	signal?: AbortSignal,
	ignoreFolders: string[] = [],
): Promise<TreeScan> {
	const scan: TreeScan = {
		entries: [],
		skipped: [],
		ignore: new Set(ignoreFolders.map((f) => resolve(f))),
		pacer: new FsPacer(),
	};
	for (const root of roots) {
		let stats: Stats;
		try {
			stats = await lstat(root.path);
		} catch (error) {
			throw new BackupError(
				'INVALID_INPUT',
				`Cannot read ${root.path} (${systemErrorCode(error) ?? (error as Error).message})`,
				'Check the folders to back up: each must exist and be readable by the user that runs n8n (on Windows, a mapped drive may not exist for the n8n service: use a UNC path).',
				{ cause: error },
			);
		}
		if (root.kind === 'file') {
			const entry = await toEntry(root.label, root.path, stats, scan);
			if (entry) scan.entries.push(entry);
			continue;
		}
		if (!stats.isDirectory())
			throw new BackupError(
				'INVALID_INPUT',
				`${root.path} is not a folder`,
				'List folders (or the appserver.ini) to back up.',
			);
		const rootEntry = await toEntry(root.label, root.path, stats, scan);
		scan.entries.push(rootEntry!);
		await walkFolder(root.path, root.label, selection, scan, signal);
	}
	await nameOwners(scan.entries);
	return scan;
}

/** Returns whether anything inside `folder` was kept. */
async function walkFolder(
	folder: string,
	path: string,
	selection: Selection,
	scan: TreeScan,
	signal?: AbortSignal,
): Promise<boolean> {
	if (signal?.aborted)
		throw new BackupError(
			'DUMP_FAILED',
			'The backup was stopped while reading the folders',
			'Nothing was kept: the unfinished set was removed.',
		);
	let children: Dirent[];
	try {
		children = (
			await scan.pacer!.run(
				() => readdirSync(folder, { withFileTypes: true }),
				() => readdir(folder, { withFileTypes: true }),
			)
		).sort(byName);
	} catch (error) {
		scan.skipped.push({ path, reason: `folder not readable (${systemErrorCode(error) ?? (error as Error).message})` });
		return false;
	}
	let kept = false;
	// lstat the selected children of this folder together (the thread pool overlaps them), in order.
	const wanted = children.filter((c) =>
		c.isDirectory() ? selection.enterFolder(`${path}/${c.name}`) : selection.includes(`${path}/${c.name}`),
	);
	const pacer = scan.pacer!;
	const lstatAsync = (path: string) => lstat(path).catch((error: unknown) => error as Error);
	// Slow filesystem: lstat a folder's children together, the thread pool overlaps them.
	const allStats: Array<Stats | Error> = pacer.slow
		? await Promise.all(wanted.map((c) => lstatAsync(join(folder, c.name))))
		: [];
	for (const c of pacer.slow ? [] : wanted) {
		const path = join(folder, c.name);
		allStats.push(
			await scan.pacer!.run(
				() => {
					try {
						return lstatSync(path);
					} catch (error) {
						return error as Error;
					}
				},
				() => lstatAsync(path),
			),
		);
	}
	for (let n = 0; n < wanted.length; n++) {
		const child = wanted[n];
		const childPath = `${path}/${child.name}`;
		const absolute = join(folder, child.name);
		const stats = lstatOrSkip(allStats[n], childPath, scan);
		if (!stats) continue;
		if (child.isDirectory()) {
			if (scan.ignore?.has(absolute)) {
				scan.skipped.push({ path: childPath, reason: 'the staging folder itself (backups are not backed up)' });
				continue;
			}
			const at = scan.entries.length;
			const entry = await toEntry(childPath, absolute, stats, scan);
			if (!entry) continue;
			scan.entries.push(entry);
			const inside = await walkFolder(absolute, childPath, selection, scan, signal);
			if (inside || selection.includes(childPath)) kept = true;
			else scan.entries.splice(at); // nothing selected in or at this folder
			continue;
		}
		const entry = await toEntry(childPath, absolute, stats, scan);
		if (entry) {
			scan.entries.push(entry);
			kept = true;
		}
	}
	return kept;
}

function lstatOrSkip(stats: Stats | Error, path: string, scan: TreeScan): Stats | undefined {
	if (!(stats instanceof Error)) return stats;
	scan.skipped.push({
		path,
		reason:
			systemErrorCode(stats) === 'ENOENT' ? 'vanished during the backup' : `not readable (${systemErrorCode(stats)})`,
	});
	return undefined;
}

async function toEntry(path: string, absolute: string, stats: Stats, scan: TreeScan): Promise<TreeEntry | undefined> {
	const type = typeOf(stats);
	if (type !== 'file' && type !== 'dir' && type !== 'symlink') {
		scan.skipped.push({ path, reason: `special file (${type}) not backed up` });
		return undefined;
	}
	let target: string | null = null;
	if (type === 'symlink') {
		try {
			target = await readlink(absolute);
		} catch (error) {
			scan.skipped.push({ path, reason: `link not readable (${systemErrorCode(error)})` });
			return undefined;
		}
	}
	return {
		path,
		absolute,
		type,
		size: type === 'file' ? stats.size : 0,
		mtimeMs: stats.mtimeMs,
		mode: stats.mode & 0o7777,
		uid: stats.uid,
		gid: stats.gid,
		target,
		dev: stats.dev,
		ino: stats.ino,
	};
}
