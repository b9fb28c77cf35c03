import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { chmod, lchown, lstat, lutimes, mkdir, readdir, realpath, rm, symlink, unlink, utimes } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { FileEntry } from '../backup-set/files-manifest';
import { BackupError, systemErrorCode } from '../errors';
import type { Logger } from '../logger';
import { silentLogger } from '../logger';
import { readArchive, type ArchiveEntry } from '../sources/protheus-files/archive-reader';
import { resolveChain, type ChainLink } from '../sources/protheus-files/chain';
import {
	OwnerResolver,
	ownerOfHeader,
	ownerOfIndexEntry,
	RecordedOwners,
	type OwnerHeader,
	type RecordedOwner,
} from './owners';

export interface FilesRestoreResult {
	target: string;
	/** backupIds applied, full first. */
	chain: string[];
	files: number;
	dirs: number;
	symlinks: number;
	bytes: number;
	/** Links not created because they point outside the target folder. */
	refusedLinks: Array<{ path: string; target: string; reason: string }>;
	/** Every file, folder and link got the owner and group the sets record (as `tar -x` run as root); false: see `owners.note`. */
	ownersRestored: boolean;
	owners: OwnersOutcome;
	durationMs: number;
}

export interface OwnersOutcome {
	/** Why owners were not restored, or not all of them; null when they all were. */
	note: string | null;
	/** 'names': user and group names looked up on this machine, the recorded id where a name is absent or unknown; 'numeric': recorded ids only. */
	mapping: 'names' | 'numeric';
	/** Recorded user and group names this machine does not know: their recorded numeric ids were used. */
	unknownUsers: string[];
	unknownGroups: string[];
	/** Entries whose owner could not be set (the first 20), and how many in all. */
	failed: Array<{ path: string; reason: string }>;
	failedCount: number;
}

const MAX_LISTED_FAILURES = 20;
const entryCount = (n: number) => `${n} ${n === 1 ? 'entry' : 'entries'}`;

/**
 * Restores the file set in `setFolder` into `target`: its full, then each differential or
 * incremental of its chain in order, applying the deletions between them, so the folder ends
 * up exactly as the tree was when that set was made (content, modes, mtimes, links, empty
 * folders and, when run as root like `tar -x`, owners and groups). Every file is hashed as it
 * is written and compared with the index.
 *
 * Safety: `target` must be empty or absent (deletions never touch anything the user had);
 * entries with absolute paths or `..` stop the restore; nothing is written through a link;
 * links that would point outside the target are not created and are reported.
 */
export async function restoreFilesChain(options: {
	setFolder: string;
	target: string;
	log?: Logger;
	signal?: AbortSignal;
	zstdPath?: string;
	/** Set owners from the recorded numeric ids only, ignoring user and group names (tar --numeric-owner). */
	numericOwner?: boolean;
}): Promise<FilesRestoreResult> {
	const started = Date.now();
	const log = options.log ?? silentLogger;
	const chain = await resolveChain(resolve(options.setFolder));
	const { target, created } = await prepareTarget(options.target);
	const writer = new SafeWriter(target);
	// Each path's owner as recorded by the newest archive that holds it (unchanged files: the archive
	// of their content); not needed when the last index records every owner itself.
	const final = chain[chain.length - 1].manifest.inventory.entries;
	const headerOwners = final.every((e) => ownerOfIndexEntry(e)) ? undefined : new RecordedOwners();
	const refused = new Map<string, { path: string; target: string; reason: string }>();
	let bytes = 0;
	for (let i = 0; i < chain.length; i++) {
		const link = chain[i];
		if (i > 0) await writer.applyDeletions(chain[i - 1].manifest.inventory.entries, link.manifest.inventory.entries);
		for (const path of refused.keys())
			if (!link.manifest.inventory.entries.some((e) => e.path === path)) refused.delete(path);
		log.info(`Restoring ${link.manifest.backupId} (${link.manifest.type}) into ${target}`);
		bytes += await extractSet(link, writer, refused, headerOwners, options.signal, options.zstdPath);
	}
	const numeric = options.numericOwner ?? false;
	const cannot = whyOwnersCannotBeSet();
	const owners = cannot
		? undefined
		: new OwnerSetter(new OwnerResolver(numeric), (entry) => ownerOfIndexEntry(entry) ?? headerOwners?.get(entry.path));
	await owners?.load(final);
	await writer.applyAttributes(final, refused, owners);
	// Folders made for the restore stay private while it fills; once its entries have their
	// owners, the AppServer's user must be able to reach them (as in a folder made for tar -x).
	if (owners) for (const folder of created) await chmod(folder, 0o755);
	const outcome = ownersOutcome(owners, cannot, numeric);
	if (outcome.note) log.warn(outcome.note);
	if (outcome.unknownUsers.length || outcome.unknownGroups.length)
		log.warn(
			`Names this machine does not know, given their recorded numeric ids: ${[...outcome.unknownUsers.map((u) => `user ${u}`), ...outcome.unknownGroups.map((g) => `group ${g}`)].join(', ')}`,
		);
	return {
		target,
		chain: chain.map((l) => l.manifest.backupId),
		files: final.filter((e) => e.type === 'file').length,
		dirs: final.filter((e) => e.type === 'dir').length,
		symlinks: final.filter((e) => e.type === 'symlink').length - refused.size,
		bytes,
		refusedLinks: [...refused.values()],
		ownersRestored: outcome.note === null,
		owners: outcome,
		durationMs: Date.now() - started,
	};
}

/** The target's real path, and the folders made for it (outermost first). */
async function prepareTarget(target: string): Promise<{ target: string; created: string[] }> {
	const absolute = resolve(target);
	const created: string[] = [];
	try {
		const existing = await readdir(absolute);
		if (existing.length)
			throw new BackupError(
				'TARGET_EXISTS',
				`Restore target ${absolute} is not empty`,
				'Restore into an empty or new folder: a restore applies deletions, and must never remove files you had there.',
			);
	} catch (error) {
		if (systemErrorCode(error) === 'ENOENT') {
			const first = await mkdir(absolute, { recursive: true, mode: 0o700 });
			for (let folder = absolute; first && folder.length >= first.length; folder = dirname(folder))
				created.unshift(folder);
		} else if (systemErrorCode(error) === 'ENOTDIR')
			throw new BackupError('TARGET_EXISTS', `Restore target ${absolute} is a file`, 'Give a folder path.');
		else throw error;
	}
	return { target: await realpath(absolute), created };
}

/** Extracts one set's archive; every entry must be in that set's index, files must match their hash. */
async function extractSet(
	link: ChainLink,
	writer: SafeWriter,
	refused: Map<string, { path: string; target: string; reason: string }>,
	owners: RecordedOwners | undefined,
	signal?: AbortSignal,
	zstdPath?: string,
): Promise<number> {
	const { manifest, folder } = link;
	const artifact = manifest.artifacts.find((a) => a.kind === 'tar');
	if (!artifact)
		throw new BackupError(
			'RESTORE_FAILED',
			`Set ${manifest.backupId} lists no tar archive`,
			'The manifest is damaged: use another copy of the set.',
		);
	const index = new Map(manifest.inventory.entries.map((e) => [e.path, e]));
	const archivePath = join(folder, ...artifact.path.split('/'));
	let bytes = 0;
	await readArchive(
		archivePath,
		manifest.compression.method,
		async (entry) => {
			if (signal?.aborted)
				throw new BackupError(
					'CANCELLED',
					'The restore was stopped',
					'The target folder holds a partial restore: remove it.',
				);
			const expected = index.get(entry.path);
			const type = entry.header.type;
			const kind =
				type === 'directory'
					? 'dir'
					: type === 'symlink'
						? 'symlink'
						: type === 'file' || type === 'contiguous-file'
							? 'file'
							: undefined;
			if (!kind)
				throw new BackupError(
					'UNSAFE_ARCHIVE',
					`Archive entry "${entry.path}" in ${manifest.backupId} is a ${type}, which TOTVS Dump never writes`,
					'The archive was altered: do not use it.',
				);
			if (!expected || expected.type !== kind || (kind === 'file' && expected.from !== manifest.backupId)) {
				entry.stream.resume();
				throw new BackupError(
					'RESTORE_FAILED',
					`Archive entry "${entry.path}" of ${manifest.backupId} is not in that set's index`,
					'The archive and its manifest do not belong together (altered or mixed up): use another copy of the set.',
				);
			}
			owners?.record(entry.path, ownerOfHeader(entry.header as OwnerHeader));
			if (kind === 'dir') {
				entry.stream.resume();
				await writer.directory(entry.segments);
			} else if (kind === 'symlink') {
				entry.stream.resume();
				const reason = await writer.symlink(entry.segments, entry.header.linkname ?? '');
				if (reason) refused.set(entry.path, { path: entry.path, target: entry.header.linkname ?? '', reason });
				else refused.delete(entry.path);
			} else {
				bytes += await writer.file(entry, expected);
			}
		},
		zstdPath,
	);
	return bytes;
}

/** Why this process cannot give files to their recorded owners, or undefined when it can (root). */
function whyOwnersCannotBeSet(): string | undefined {
	if (typeof process.geteuid !== 'function')
		return `Owners are not restored on ${process.platform}: it has no Unix owners (files belong to the user that runs n8n)`;
	const euid = process.geteuid();
	if (euid === 0) return undefined;
	return (
		`Owners not restored: only root can give files to other users and this restore runs as uid ${euid} (as tar -x does for a normal user), so every entry belongs to that user. ` +
		"Run the restore as root, or give the tree to the AppServer's user afterwards (e.g. chown -R totvs:totvs on the restored folders)."
	);
}

/** Sets each entry's recorded owner (names looked up here, or numeric), collecting failures instead of stopping: the content is already good. */
class OwnerSetter {
	readonly failed: Array<{ path: string; reason: string }> = [];
	failedCount = 0;
	unrecorded = 0;

	constructor(
		readonly resolver: OwnerResolver,
		private readonly ownerOf: (entry: FileEntry) => RecordedOwner | undefined,
	) {}

	async load(entries: FileEntry[]): Promise<void> {
		await this.resolver.load(entries.map(this.ownerOf).filter((o) => o !== undefined));
	}

	/** lchown: a link itself, never what it points at. */
	async apply(path: string, entry: FileEntry): Promise<void> {
		const recorded = this.ownerOf(entry);
		const ids = recorded && this.resolver.resolve(recorded);
		if (!ids) {
			this.unrecorded++;
			return;
		}
		try {
			await lchown(path, ids.uid, ids.gid);
		} catch (error) {
			this.failedCount++;
			if (this.failed.length < MAX_LISTED_FAILURES)
				this.failed.push({
					path: entry.path,
					reason: `cannot set owner ${ids.uid}:${ids.gid} (${systemErrorCode(error) ?? (error as Error).message})`,
				});
		}
	}
}

function ownersOutcome(owners: OwnerSetter | undefined, cannot: string | undefined, numeric: boolean): OwnersOutcome {
	const problems: string[] = [];
	if (cannot) problems.push(cannot);
	if (owners?.failedCount)
		problems.push(
			`Owners of ${entryCount(owners.failedCount)} could not be set (first: ${owners.failed[0].path}: ${owners.failed[0].reason}); ` +
				'the folder may be on a share that maps root to nobody (NFS root_squash) or on a filesystem without Unix owners: restore onto a local Linux filesystem, or chown afterwards.',
		);
	if (owners?.unrecorded)
		problems.push(
			`Owners of ${entryCount(owners.unrecorded)} are not recorded in the sets (ids too large for the tar header, and no user or group name): they belong to the restoring user.`,
		);
	return {
		note: problems.length ? problems.join(' ') : null,
		mapping: numeric ? 'numeric' : 'names',
		unknownUsers: [...(owners?.resolver.unknownUsers ?? [])].sort(),
		unknownGroups: [...(owners?.resolver.unknownGroups ?? [])].sort(),
		failed: owners?.failed ?? [],
		failedCount: owners?.failedCount ?? 0,
	};
}

/** Writes only inside `root`, never through a link, and keeps link targets inside it. */
class SafeWriter {
	private realDirs = new Set<string>();

	constructor(private readonly root: string) {}

	private pathOf(segments: string[]): string {
		const path = join(this.root, ...segments);
		if (!path.startsWith(this.root + sep))
			throw new BackupError(
				'UNSAFE_ARCHIVE',
				`Entry "${segments.join('/')}" resolves outside ${this.root}`,
				'The archive was altered: do not use it.',
			);
		return path;
	}

	/** Makes every parent of `segments` a real folder (not a link), creating what is missing. */
	private async parents(segments: string[]): Promise<void> {
		let path = this.root;
		for (const segment of segments.slice(0, -1)) {
			path = join(path, segment);
			if (this.realDirs.has(path)) continue;
			await this.realFolder(path, segments.join('/'));
		}
	}

	private async realFolder(path: string, entry: string): Promise<void> {
		try {
			const info = await lstat(path);
			if (info.isSymbolicLink())
				throw new BackupError(
					'UNSAFE_ARCHIVE',
					`Archive entry "${entry}" would be written through the link ${relative(this.root, path)}`,
					'The archive was altered: do not use it. Nothing was written through the link.',
				);
			if (!info.isDirectory())
				throw new BackupError(
					'RESTORE_FAILED',
					`${path} is a file where the archive has a folder`,
					'The chain is inconsistent: use another copy of the sets.',
				);
		} catch (error) {
			if (systemErrorCode(error) !== 'ENOENT') throw error;
			await mkdir(path, { mode: 0o700 });
		}
		this.realDirs.add(path);
	}

	async directory(segments: string[]): Promise<void> {
		await this.parents(segments);
		await this.realFolder(this.pathOf(segments), segments.join('/'));
	}

	/** Creates the link, or returns why it was refused. */
	async symlink(segments: string[], linkTarget: string): Promise<string | undefined> {
		await this.parents(segments);
		const path = this.pathOf(segments);
		const parts = linkTarget.split(/[\\/]+/).filter((s) => s && s !== '.');
		const firstDown = parts.findIndex((s) => s !== '..');
		const reason = !linkTarget
			? 'empty link target'
			: isAbsolute(linkTarget) || /^[A-Za-z]:/.test(linkTarget) || linkTarget.startsWith('\\')
				? 'absolute link target'
				: firstDown !== -1 && parts.slice(firstDown).includes('..')
					? 'link target climbs with ".." after descending'
					: !`${resolve(dirname(path), linkTarget)}${sep}`.startsWith(this.root + sep)
						? 'link target outside the restore folder'
						: undefined;
		await this.removeExisting(path);
		if (reason) return `${reason} (${linkTarget}): not created`;
		try {
			await symlink(linkTarget, path);
		} catch (error) {
			// Windows lets only administrators (or Developer Mode) create links: report it, keep restoring.
			if (systemErrorCode(error) === 'EPERM')
				return `links cannot be created here (EPERM; on Windows run n8n as administrator or enable Developer Mode): ${linkTarget}`;
			throw error;
		}
		return undefined;
	}

	async file(entry: ArchiveEntry, expected: FileEntry): Promise<number> {
		await this.parents(entry.segments);
		const path = this.pathOf(entry.segments);
		await this.removeExisting(path);
		const hash = createHash('sha256');
		let size = 0;
		// 'wx': never follow or reuse whatever is at the path (removed just above).
		const out = createWriteStream(path, { flags: 'wx', mode: 0o600 });
		try {
			for await (const chunk of entry.stream as AsyncIterable<Buffer>) {
				hash.update(chunk);
				size += chunk.length;
				if (!out.write(chunk)) await once(out, 'drain');
			}
			out.end();
			await once(out, 'close');
		} catch (error) {
			out.destroy();
			throw error;
		}
		const sha256 = hash.digest('hex');
		if (sha256 !== expected.sha256 || size !== expected.size)
			throw new BackupError(
				'RESTORE_FAILED',
				`${entry.path}: restored content (${size} bytes, SHA-256 ${sha256.slice(0, 12)}…) differs from the index (${expected.size} bytes, ${expected.sha256?.slice(0, 12)}…)`,
				'The archive was damaged or altered: verify the set and use another copy.',
			);
		return size;
	}

	private async removeExisting(path: string): Promise<void> {
		try {
			const info = await lstat(path);
			if (info.isDirectory())
				throw new BackupError(
					'RESTORE_FAILED',
					`${path} is a folder where the archive has a file or link`,
					'The chain is inconsistent: use another copy of the sets.',
				);
			await unlink(path);
		} catch (error) {
			if (systemErrorCode(error) !== 'ENOENT') throw error;
		}
	}

	/** Removes what the previous point had and the next one does not (or has with another type). */
	async applyDeletions(before: FileEntry[], after: FileEntry[]): Promise<void> {
		const next = new Map(after.map((e) => [e.path, e.type]));
		const gone = before.filter((e) => next.get(e.path) !== e.type).map((e) => e.path);
		gone.sort((a, b) => b.length - a.length);
		for (const path of gone) {
			const absolute = this.pathOf(path.split('/'));
			await rm(absolute, { recursive: true, force: true }); // rm removes a link itself, never its target
		}
		this.realDirs.clear();
	}

	/**
	 * Owners (when restoring as root), modes and mtimes from the index, folders deepest first
	 * (writing into a folder changes its mtime). Owner before mode: chown clears setuid/setgid bits.
	 */
	async applyAttributes(entries: FileEntry[], refused: Map<string, unknown>, owners?: OwnerSetter): Promise<void> {
		const ordered = [...entries].sort((a, b) => b.path.split('/').length - a.path.split('/').length);
		for (const entry of ordered) {
			if (refused.has(entry.path)) continue;
			const path = this.pathOf(entry.path.split('/'));
			// Seconds as a double lose the last millisecond (…524 becomes …523.9999): aim half a microsecond in.
			const when = (new Date(entry.mtime).getTime() + 0.0005) / 1000;
			let info;
			try {
				info = await lstat(path);
			} catch (error) {
				if (systemErrorCode(error) === 'ENOENT')
					throw new BackupError(
						'RESTORE_FAILED',
						`${entry.path} is in the index but not in any archive of the chain`,
						'The chain is incomplete or damaged: verify its sets.',
					);
				throw error;
			}
			const actual = info.isDirectory() ? 'dir' : info.isSymbolicLink() ? 'symlink' : 'file';
			if (actual !== entry.type)
				throw new BackupError(
					'RESTORE_FAILED',
					`${entry.path} was restored as a ${actual}, the index has a ${entry.type}`,
					'The chain is damaged: verify its sets.',
				);
			await owners?.apply(path, entry);
			if (entry.type === 'symlink') {
				await lutimes(path, when, when).catch(() => undefined); // not every filesystem keeps link times
				continue;
			}
			await chmod(path, entry.mode);
			await utimes(path, when, when);
		}
	}
}
