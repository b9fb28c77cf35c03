/**
 * Set-level operations over any Destination: upload a backup set, download one to the staging
 * folder (then verify it), and prune with the retention policy. The remote layout is the local
 * one, `<environment>/<backupId>/…` under the destination's root.
 *
 * Upload order is the set writer's: artifacts first, the manifest last, so a set without
 * manifest on a destination is always an unfinished upload and never listed as a backup. Each
 * file is checked after upload by the destination (size, and a remote hash or read-back). A
 * rerun after an interruption skips the artifacts already there and proven equal by a remote
 * SHA-256, and sends the others again (each destination resumes or restarts its partial file).
 */
import { access, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { misplacedReason, readSet } from '../backup-set/catalog';
import { checkEnvironmentName, isBackupIdOf } from '../backup-set/ids';
import {
	IN_PROGRESS_MARKER,
	MANIFEST_FILE,
	MANIFEST_SIGNATURE_FILE,
	ManifestError,
	type Manifest,
} from '../backup-set/manifest';
import type { Destination, VerificationMethod } from '../destinations';
import { BackupError, systemErrorCode } from '../errors';
import { formatBytes } from '../format';
import { prepareStagingFolder } from '../location/staging-folder';
import {
	withEnvironmentLock,
	type EnvironmentLock,
	type LockOptions,
	type LockOwner,
} from '../locking/environment-lock';
import type { Logger } from '../logger';
import { silentLogger } from '../logger';
import { hashFile } from '../pipeline/hashing';
import { planRetention } from '../retention/pitr-retention';
import type { PrunePlan, RetentionPolicy } from '../retention/retention';
import { verifyLocalSet, type Verification, type VerifyOptions } from '../verify/verify-set';
import {
	listRemoteSets,
	readRemoteManifest,
	remoteSetFolder,
	retentionInput,
	type RemoteSetEntry,
} from './remote-catalog';

/** Weakest first: a set is as verified as its least verified file. */
const STRENGTH: VerificationMethod[] = ['size', 'md5', 'read-back', 'sha256'];

export interface LockSettings {
	owner: LockOwner;
	options?: Omit<LockOptions, 'purpose'>;
	/**
	 * A second connection to the same destination for the lock alone, so its renewals are never
	 * queued behind a long transfer (an FTP connection runs one command at a time: an hour-long
	 * upload would let the lock go stale). Default: the destination itself.
	 */
	via?: Destination;
}

export interface UploadSetOptions {
	lock: LockSettings;
	/** Read each file back when the destination gives no remote hash. */
	readBack?: boolean;
	logger?: Logger;
	signal?: AbortSignal;
}

export interface UploadedFile {
	path: string;
	bytes: number;
	verifiedBy: VerificationMethod;
	/** true when it was already on the destination, proven equal, and not sent again. */
	skipped: boolean;
}

export interface UploadSetResult {
	destination: string;
	/** The set folder on the destination, relative to its root. */
	remotePath: string;
	bytes: number;
	/** Every file proven equal by a hash or a read-back, not only by size. */
	verified: boolean;
	/** The weakest check any file got. */
	verifiedBy: VerificationMethod;
	/** The upload itself, without the wait for the environment's lock (see lockWaitMs). */
	durationMs: number;
	/** Time spent waiting for another execution's lock on the environment before the upload began. */
	lockWaitMs: number;
	files: UploadedFile[];
	/** The complete set was already on the destination: nothing was sent. */
	alreadyThere: boolean;
}

export async function uploadSet(
	destination: Destination,
	setFolder: string,
	options: UploadSetOptions,
): Promise<UploadSetResult> {
	const started = Date.now();
	const logger = options.logger ?? silentLogger;
	const manifest = await readSet(setFolder);
	const environment = checkEnvironmentName(manifest.environment);
	const remoteFolder = remoteSetFolder(environment, manifest.backupId);

	return withEnvironmentLock(
		options.lock.via ?? destination,
		environment,
		options.lock.owner,
		{ logger, ...options.lock.options, purpose: 'upload' },
		async (lock) => {
			const existing = await remoteManifestIfAny(destination, manifest);
			const marker = `${remoteFolder}/${IN_PROGRESS_MARKER}`;
			if (!existing) {
				// First, before any artifact: the proof that this folder is ours, so Prune may clean
				// it if this upload never finishes (and may clean nothing it cannot prove is ours).
				await lock.assertHeld();
				await destination.createExclusive(
					marker,
					JSON.stringify({
						backupId: manifest.backupId,
						owner: options.lock.owner,
						startedAt: new Date().toISOString(),
					}),
				);
			}
			const files: UploadedFile[] = [];
			for (const artifact of manifest.artifacts) {
				const remotePath = `${remoteFolder}/${artifact.path}`;
				const remote = await destination.stat(remotePath, { withHash: true });
				const sameHash = remote?.sha256 === undefined ? undefined : remote.sha256.toLowerCase() === artifact.sha256;
				if (remote?.size === artifact.bytes && (sameHash || (existing && sameHash === undefined))) {
					// Proven equal by its SHA-256; or part of a set already complete there, where only the size can be checked.
					files.push({
						path: artifact.path,
						bytes: artifact.bytes,
						verifiedBy: sameHash ? 'sha256' : 'size',
						skipped: true,
					});
					continue;
				}
				if (existing)
					throw new BackupError(
						'VERIFY_FAILED',
						`Set ${manifest.backupId} is already complete on ${destination.describe()}, but its ${artifact.path} ${remote ? 'differs' : 'is missing'} there`,
						'The copy on the destination is damaged. Delete that set folder on the destination (or run Prune) and upload again.',
					);
				await lock.assertHeld();
				const put = await destination.put(join(setFolder, ...artifact.path.split('/')), remotePath, {
					readBack: options.readBack,
					expectedSha256: artifact.sha256,
					signal: options.signal,
				});
				logger.info(
					`Uploaded ${artifact.path} of ${manifest.backupId} to ${destination.describe()} (${formatBytes(put.bytes)}, checked by ${put.verifiedBy})`,
				);
				files.push({ path: artifact.path, bytes: put.bytes, verifiedBy: put.verifiedBy, skipped: false });
			}

			if (!existing) {
				// The signature before its manifest: a complete set on the destination is always signed.
				const signatureFile = join(setFolder, MANIFEST_SIGNATURE_FILE);
				if (await exists(signatureFile)) {
					await lock.assertHeld();
					const put = await destination.put(signatureFile, `${remoteFolder}/${MANIFEST_SIGNATURE_FILE}`, {
						readBack: options.readBack,
						expectedSha256: (await hashFile(signatureFile)).sha256,
						signal: options.signal,
					});
					files.push({ path: MANIFEST_SIGNATURE_FILE, bytes: put.bytes, verifiedBy: put.verifiedBy, skipped: false });
				}
				// Last: only now does the set exist on the destination.
				await lock.assertHeld();
				const manifestFile = join(setFolder, MANIFEST_FILE);
				const put = await destination.put(manifestFile, `${remoteFolder}/${MANIFEST_FILE}`, {
					readBack: options.readBack,
					expectedSha256: (await hashFile(manifestFile)).sha256,
					signal: options.signal,
				});
				files.push({ path: MANIFEST_FILE, bytes: put.bytes, verifiedBy: put.verifiedBy, skipped: false });
				await destination.remove(marker);
			} else {
				// A run that died between its manifest and this removal left it: the set is complete.
				await destination.remove(marker);
				files.push({ path: MANIFEST_FILE, bytes: 0, verifiedBy: 'sha256', skipped: true });
			}
			const verifiedBy = files.reduce<VerificationMethod>(
				(weakest, f) => (STRENGTH.indexOf(f.verifiedBy) < STRENGTH.indexOf(weakest) ? f.verifiedBy : weakest),
				'sha256',
			);
			return {
				destination: destination.describe(),
				remotePath: remoteFolder,
				bytes: manifest.artifacts.reduce((sum, a) => sum + a.bytes, 0),
				verified: verifiedBy !== 'size',
				verifiedBy,
				durationMs: Date.now() - started - lock.waitedMs,
				lockWaitMs: lock.waitedMs,
				files,
				alreadyThere: files.every((f) => f.skipped),
			};
		},
	);
}

/**
 * The manifest already on the destination for this set, if any. A different manifest under the
 * same backupId is refused: never overwrite a complete set with other content.
 */
async function remoteManifestIfAny(destination: Destination, manifest: Manifest): Promise<Manifest | undefined> {
	let remote: Manifest;
	try {
		remote = await readRemoteManifest(destination, manifest.environment, manifest.backupId);
	} catch (error) {
		if (error instanceof BackupError && error.code === 'SET_NOT_FOUND') return undefined;
		throw error;
	}
	const same = (m: Manifest) => JSON.stringify(m.artifacts.map((a) => [a.path, a.bytes, a.sha256]));
	if (same(remote) !== same(manifest))
		throw new BackupError(
			'VERIFY_FAILED',
			`A different set named ${manifest.backupId} is already on ${destination.describe()}: its manifest lists other artifacts`,
			'Nothing was overwritten. Check which copy is right; delete the wrong one by hand if needed, then upload again.',
		);
	return remote;
}

export interface DownloadSetOptions {
	/** A backupId, or 'latest' for the newest complete set of the environment (and component). */
	backupId: string;
	environment: string;
	component?: string;
	/** Local staging folder: the set lands in `<staging>/<environment>/<backupId>/`. */
	stagingFolder?: string;
	verify?: VerifyOptions;
	logger?: Logger;
	signal?: AbortSignal;
}

export interface DownloadSetResult {
	manifest: Manifest;
	folder: string;
	manifestPath: string;
	bytes: number;
	downloadedBytes: number;
	durationMs: number;
	verification: Verification;
}

export async function downloadSet(destination: Destination, options: DownloadSetOptions): Promise<DownloadSetResult> {
	const started = Date.now();
	const environment = checkEnvironmentName(options.environment);
	const backupId =
		options.backupId.trim() === 'latest' || !options.backupId.trim()
			? await latestSetId(destination, environment, options.component)
			: options.backupId.trim();
	// It names a local and a remote folder: only an id of this environment, as we write them.
	if (!isBackupIdOf(environment, backupId))
		throw new BackupError(
			'SET_NOT_FOUND',
			`No complete backup set ${/^[\w.-]+$/.test(backupId) ? backupId : JSON.stringify(backupId.slice(0, 80))} in ${destination.describe()}/${environment}: not a backup id of environment ${environment}`,
			`A backup id looks like ${environment}-20261126T020000Z-full-db. Use "latest", or the List operation to see the sets there.`,
		);
	const manifest = await readRemoteManifest(destination, environment, backupId);
	const misplaced = misplacedReason(manifest, environment, backupId);
	if (misplaced)
		throw new ManifestError(
			`${destination.describe()}/${remoteSetFolder(environment, backupId)}/${MANIFEST_FILE}`,
			misplaced,
		);
	const staging = await prepareStagingFolder(options.stagingFolder);
	const folder = join(staging, environment, backupId);
	const manifestPath = join(folder, MANIFEST_FILE);
	const marker = join(folder, IN_PROGRESS_MARKER);
	// The set holds the company's data: the folders made for it are private (files: 0600, see verified-get).
	await mkdir(folder, { recursive: true, mode: 0o700 });
	// Like a dump's: an interrupted download stays provably ours, so a Prune of staging may clean it.
	if (!(await exists(manifestPath)))
		await writeFile(
			marker,
			JSON.stringify({ backupId, download: destination.describe(), startedAt: new Date().toISOString() }),
			{ mode: 0o600 },
		);

	let downloadedBytes = 0;
	// Artifacts first, the manifest last: an interrupted download is an unfinished set locally
	// too. A rerun keeps the artifacts that are already there and correct, and fetches the
	// others again (also repairing a local copy damaged since).
	for (const artifact of manifest.artifacts) {
		const local = join(folder, ...artifact.path.split('/'));
		if (await exists(local)) {
			const have = await hashFile(local);
			if (have.bytes === artifact.bytes && have.sha256 === artifact.sha256) continue;
		}
		const got = await destination.get(`${remoteSetFolder(environment, backupId)}/${artifact.path}`, local, {
			signal: options.signal,
		});
		downloadedBytes += got.bytes;
		options.logger?.info(
			`Downloaded ${artifact.path} of ${backupId} from ${destination.describe()} (${formatBytes(got.bytes)})`,
		);
	}
	if (!(await exists(manifestPath))) {
		const remoteSignature = `${remoteSetFolder(environment, backupId)}/${MANIFEST_SIGNATURE_FILE}`;
		if (await destination.stat(remoteSignature))
			await destination.get(remoteSignature, join(folder, MANIFEST_SIGNATURE_FILE), { signal: options.signal });
		await destination.get(`${remoteSetFolder(environment, backupId)}/${MANIFEST_FILE}`, manifestPath, {
			signal: options.signal,
		});
	}
	await rm(marker, { force: true });
	const { verification } = await verifyLocalSet(folder, options.verify);
	return {
		manifest,
		folder,
		manifestPath,
		bytes: manifest.artifacts.reduce((sum, a) => sum + a.bytes, 0),
		downloadedBytes,
		durationMs: Date.now() - started,
		verification,
	};
}

async function latestSetId(destination: Destination, environment: string, component?: string): Promise<string> {
	const { sets } = await listRemoteSets(destination, environment);
	const usable = sets.filter(
		(s: RemoteSetEntry) => s.remoteStatus === 'complete' && (!component || s.manifest.component === component),
	);
	const latest = usable[usable.length - 1];
	if (!latest)
		throw new BackupError(
			'SET_NOT_FOUND',
			`No complete backup set of environment ${environment}${component ? ` (${component})` : ''} on ${destination.describe()}`,
			'Check the environment name and the destination, or use the List operation to see what it holds.',
		);
	return latest.backupId;
}

async function exists(path: string): Promise<boolean> {
	try {
		await access(path);
		return true;
	} catch (error) {
		if (systemErrorCode(error) === 'ENOENT') return false;
		throw error;
	}
}

export interface PruneOptions {
	environment: string;
	policy: RetentionPolicy;
	dryRun: boolean;
	lock: LockSettings;
	now?: Date;
	logger?: Logger;
}

export interface PruneResult {
	plan: PrunePlan;
	dryRun: boolean;
	/** What was actually removed (empty on a dry run). */
	deleted: string[];
	/**
	 * Folders in the environment that are not provably ours (no backupId name, or no in-progress
	 * marker): never deleted, listed so a person can look at them.
	 */
	ignored: Array<{ path: string; reason: string }>;
	/**
	 * Set folders whose manifest is invalid (unreadable, or not this folder's): never deleted, and
	 * the sets that need them are kept; listed so a person can repair or remove them.
	 */
	invalid: Array<{ path: string; reason: string }>;
	/** Time spent waiting for another execution's lock on the environment (0 on a dry run). */
	lockWaitMs: number;
}

/**
 * Applies the retention policy to one environment on a destination, holding its lock. Deletes
 * newest first (dependents before what they depend on), and each set's manifest before its
 * folder, so an interrupted prune leaves at worst an unfinished folder, never a set that looks
 * complete and is not.
 */
export async function pruneSets(destination: Destination, options: PruneOptions): Promise<PruneResult> {
	const environment = checkEnvironmentName(options.environment);
	const logger = options.logger ?? silentLogger;
	const run = async (lock?: EnvironmentLock) => {
		const catalog = await listRemoteSets(destination, environment);
		const input = retentionInput(catalog);
		const ignored = catalog.ignored.map((f) => ({ path: f.folder, reason: f.reason }));
		const invalid = catalog.invalid.map((f) => ({ path: f.folder, reason: f.reason }));
		for (const folder of [...invalid, ...ignored])
			logger.warn(`Prune left ${folder.path} on ${destination.describe()} untouched: ${folder.reason}`);
		const plan = planRetention(input.sets, input.unfinished, options.policy, options.now ?? new Date(), input.invalid);
		const deleted: string[] = [];
		if (!options.dryRun) {
			for (const decision of [...plan.sets, ...plan.unfinished].filter((d) => d.action === 'delete')) {
				await lock!.assertHeld();
				const folder = remoteSetFolder(environment, decision.backupId);
				await destination.remove(`${folder}/${MANIFEST_FILE}`);
				await destination.removeFolder(folder);
				deleted.push(decision.backupId);
				logger.info(`Pruned ${decision.backupId} from ${destination.describe()}`);
			}
		}
		return { plan, dryRun: options.dryRun, deleted, ignored, invalid, lockWaitMs: lock?.waitedMs ?? 0 };
	};
	// A dry run changes nothing, so it does not wait for or block a running upload.
	return options.dryRun
		? run()
		: withEnvironmentLock(
				options.lock.via ?? destination,
				environment,
				options.lock.owner,
				{ logger, ...options.lock.options, purpose: 'prune' },
				run,
			);
}
