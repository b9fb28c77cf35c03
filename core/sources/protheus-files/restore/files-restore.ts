import { randomBytes } from 'node:crypto';
import { chmod, chown, lstat, mkdir, readdir, rename, rm, rmdir } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { compactUtc } from '../../../backup-set/ids';
import { manifestOf } from '../../../backup-set/manifest';
import { allPassed, check, type CheckResult } from '../../../checks/check';
import { verifySetFolder } from '../../../checks/set-verification';
import { BackupError, isBackupError, systemErrorCode } from '../../../errors';
import type { Logger } from '../../../logger';
import { notRestored, type RealRestoreReport } from '../../../restore-shared/report';
import { checkRestoredCopy } from '../restore-test';
import { refuseSealedWithoutIdentity } from '../chain';
import { checkFilesSet } from '../verify';
import { restoreFilesChain, type FilesRestoreResult } from './chain-restore';

export interface FilesRestoreRequest {
	/** The set folder (holding manifest.json): the tree is restored as of this set. */
	folder: string;
	/** The folder the tree is restored into: absent or empty, or any folder with `replace`. */
	target: string;
	/** Replace a target that is not empty: the old tree is moved aside (never deleted), its new name in the report. */
	replace: boolean;
	/** Keep the restored copy beside the target when a check fails, for investigation. */
	keepOnFailure: boolean;
	log: Logger;
	signal?: AbortSignal;
	zstdPath?: string;
	numericOwner?: boolean;
}

/** A files restore's report: the target, and where the tree it replaced was moved. */
export interface FilesRestoreReport extends RealRestoreReport {
	target: string;
	/** The old tree's new name (beside the target), when a non-empty target was replaced. */
	oldTree: string | null;
	/** Owners and groups set as recorded (as GNU tar run as root does). */
	ownersRestored: boolean;
	chain: string[];
}

/** Names of what a files restore leaves beside the target. */
export const restoringName = (target: string, token: string) =>
	join(dirname(target), `.${basename(target)}.totvs-restoring-${token}`);
export const oldTreeName = (target: string, at: Date) =>
	join(dirname(target), `${basename(target)}.totvs-old-${compactUtc(at)}`);

/**
 * Real recovery of a Protheus file set into `target`. The chain is restored beside the target
 * (same parent, so on the same file system), checked like a Restore Test (every entry with its
 * size, SHA-256 and mode, owners as root, deletions applied, nothing extra, the appserver.ini
 * paths), and only then takes the target's name: an absent or empty target is simply replaced;
 * a non-empty one only with `replace`, and its old tree is renamed beside it (never deleted).
 * A failure at any point before the swap (a damaged archive, a full disk, cancel) removes the
 * copy and leaves the target as it was.
 */
export async function restoreFilesSet(request: FilesRestoreRequest): Promise<FilesRestoreReport> {
	const target = resolve(request.target.trim());
	if (!request.target.trim())
		throw new BackupError(
			'INVALID_INPUT',
			'No target folder to restore into',
			'Give the folder to restore the tree into.',
		);
	const existing = await targetState(target);
	if (existing === 'not empty' && !request.replace)
		throw new BackupError(
			'TARGET_EXISTS',
			`Target folder ${target} is not empty; nothing was restored`,
			'Restore into an empty or new folder, or switch on "Replace": the tree is then restored beside it, checked, and swapped in, with the old tree kept aside under a name the result gives.',
		);
	await refuseSealedWithoutIdentity(request.folder);
	const options = { zstdPath: request.zstdPath };
	const { manifest: any, verification } = await verifySetFolder(request.folder, options, {
		'protheus-files': checkFilesSet,
	});
	if (!any || !verification.ok)
		return {
			...notRestored(any, verification.checks),
			replaced: false,
			target,
			oldTree: null,
			ownersRestored: false,
			chain: [],
		};
	const manifest = manifestOf(any, 'protheus-files', request.folder);
	cancelledBefore(request.signal, target);
	await mkdir(dirname(target), { recursive: true });
	const copy = restoringName(target, randomBytes(4).toString('hex'));
	let keep = false;
	const started = Date.now();
	try {
		let restored: FilesRestoreResult;
		try {
			restored = await restoreFilesChain({
				setFolder: request.folder,
				target: copy,
				log: request.log,
				signal: request.signal,
				zstdPath: request.zstdPath,
				numericOwner: request.numericOwner,
			});
		} catch (error) {
			throw restoreError(error, target, request.signal);
		}
		const restoreMs = Date.now() - started;
		const checksStarted = Date.now();
		const checks: CheckResult[] = [
			...verification.checks,
			...(await checkRestoredCopy(request.folder, copy, manifest, restored, request.signal)),
		];
		cancelledBefore(request.signal, target);
		const passed = allPassed(checks);
		const report = {
			backupId: manifest.backupId,
			manifest: any,
			restoreMs,
			checksMs: Date.now() - checksStarted,
			restoredBytes: restored.bytes,
			target,
			ownersRestored: restored.ownersRestored,
			chain: restored.chain,
		};
		if (!passed) {
			keep = request.keepOnFailure;
			if (keep) request.log.warn(`Restore of ${manifest.backupId} failed its checks: the copy is kept in ${copy}`);
			return { ...report, passed, database: keep ? copy : null, kept: keep, replaced: false, oldTree: null, checks };
		}
		const oldTree = await swapIn(copy, target, existing, request.log);
		return {
			...report,
			passed: true,
			database: target,
			kept: false,
			replaced: oldTree !== null,
			oldTree,
			checks: [
				...checks,
				check(
					'swap',
					true,
					'the checked copy takes the target name',
					target,
					oldTree
						? `The old tree was moved to ${oldTree} (delete it once the restore is confirmed)`
						: 'The target was empty',
				),
			],
		};
	} finally {
		if (!keep) await rm(copy, { recursive: true, force: true });
	}
}

type TargetState = 'absent' | 'empty' | 'not empty';

async function targetState(target: string): Promise<TargetState> {
	try {
		return (await readdir(target)).length ? 'not empty' : 'empty';
	} catch (error) {
		const code = systemErrorCode(error);
		if (code === 'ENOENT') return 'absent';
		if (code === 'ENOTDIR')
			throw new BackupError('TARGET_EXISTS', `Restore target ${target} is a file`, 'Give a folder path.');
		throw error;
	}
}

/**
 * The checked copy takes the target's name. The old tree (or the empty folder) gives its mode and
 * owner to the copy's top folder, then a non-empty one is renamed beside it; if the last rename
 * fails the old tree is put back. Returns the old tree's new name, or null.
 */
async function swapIn(copy: string, target: string, state: TargetState, log: Logger): Promise<string | null> {
	if (state !== 'absent') {
		const info = await lstat(target);
		await chmod(copy, info.mode & 0o7777);
		if (process.getuid?.() === 0) await chown(copy, info.uid, info.gid);
	}
	if (state === 'empty') await rmdir(target);
	let oldTree: string | null = null;
	if (state === 'not empty') {
		oldTree = oldTreeName(target, new Date());
		for (let n = 2; await exists(oldTree); n++) oldTree = `${oldTreeName(target, new Date())}-${n}`;
		await rename(target, oldTree);
	}
	try {
		await rename(copy, target);
	} catch (error) {
		if (oldTree) await rename(oldTree, target).catch(() => undefined);
		else if (state === 'empty') await mkdir(target).catch(() => undefined);
		throw new BackupError(
			'RESTORE_FAILED',
			`The restored tree could not take the name ${target}: ${(error as Error).message}`,
			'The target was put back as it was. Check the permissions of its parent folder.',
			{ cause: error },
		);
	}
	if (oldTree) log.info(`Restored tree swapped into ${target}; the old tree is kept in ${oldTree}`);
	return oldTree;
}

const exists = (path: string) =>
	lstat(path).then(
		() => true,
		() => false,
	);

function cancelledBefore(signal: AbortSignal | undefined, target: string): void {
	if (signal?.aborted)
		throw new BackupError(
			'CANCELLED',
			`The restore into ${target} was cancelled`,
			`The target ${target} was not touched; the partial copy beside it was removed.`,
		);
}

/** What stopped the restore of the copy, said for the target (which was not touched). */
function restoreError(error: unknown, target: string, signal?: AbortSignal): unknown {
	if (signal?.aborted) {
		try {
			cancelledBefore(signal, target);
		} catch (cancelled) {
			return cancelled;
		}
	}
	if (systemErrorCode(error) === 'ENOSPC' || (isBackupError(error) && error.code === 'DISK_FULL'))
		return new BackupError(
			'DISK_FULL',
			`The disk holding ${target} is full: the restored copy did not fit beside it (${(error as Error).message})`,
			`The target ${target} was not touched and the partial copy was removed. Free space on that disk (a Replace needs room for the old and the new tree at once), or restore into a folder on another disk.`,
			{ cause: error },
		);
	if (isBackupError(error))
		return new BackupError(error.code, error.message, `${error.hint} The target ${target} was not touched.`.trim(), {
			cause: error,
		});
	return error;
}
