import { chmod, mkdir, readdir, realpath } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { FileEntry } from '../../../backup-set/files-manifest';
import type { ArtifactRecord } from '../../../backup-set/manifest';
import { BackupError, systemErrorCode } from '../../../errors';
import type { Logger } from '../../../logger';
import { silentLogger } from '../../../logger';
import { readSetArchive } from '../archive-reader';
import { resolveChain, type ChainLink } from '../chain';
import {
	OwnerResolver,
	ownerOfHeader,
	ownerOfIndexEntry,
	OwnerSetter,
	ownersOutcome,
	RecordedOwners,
	whyOwnersCannotBeSet,
	type OwnerHeader,
	type OwnersOutcome,
} from './owners';
import { SafeWriter } from './safe-writer';

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
	let bytes = 0;
	try {
		await readArchiveInto(
			writer,
			folder,
			artifact,
			manifest,
			index,
			refused,
			owners,
			signal,
			zstdPath,
			(n) => (bytes += n),
		);
	} catch (error) {
		// No background write may land after the caller removes a failed restore.
		await writer.settle();
		throw error;
	}
	await writer.flush();
	return bytes;
}

async function readArchiveInto(
	writer: SafeWriter,
	folder: string,
	artifact: ArtifactRecord,
	manifest: ChainLink['manifest'],
	index: Map<string, FileEntry>,
	refused: Map<string, { path: string; target: string; reason: string }>,
	owners: RecordedOwners | undefined,
	signal: AbortSignal | undefined,
	zstdPath: string | undefined,
	wrote: (bytes: number) => void,
): Promise<void> {
	await readSetArchive(
		folder,
		manifest,
		artifact,
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
				wrote(await writer.file(entry, expected));
			}
		},
		zstdPath,
	);
}
