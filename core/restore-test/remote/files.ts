import { rm } from 'node:fs/promises';
import { checkEnvironmentName } from '../../backup-set/ids';
import { manifestOf, type Manifest } from '../../backup-set/manifest';
import type { Destination } from '../../destinations';
import { BackupError } from '../../errors';
import { prepareStagingFolder } from '../../location/staging-folder';
import type { Logger } from '../../logger';
import { listRemoteSets, readRemoteManifest, remoteSetFolder } from '../../upload/remote-catalog';
import { downloadChain, downloadFinisher, makeDownloadFolder, type FetchedRemoteSet } from './download-folder';

export interface FetchRemoteFilesOptions {
	environment: string;
	/** A backupId (the chain is restored "as of" it); empty or 'latest' for the newest complete files set. */
	backupId?: string;
	stagingFolder?: string;
	zstdPath?: string;
	logger?: Logger;
	signal?: AbortSignal;
}

export interface FetchedRemoteFilesChain extends FetchedRemoteSet {
	/** backupIds downloaded, full first. */
	chain: string[];
}

/**
 * Downloads a Protheus files set from a destination with the sets its restore needs (its full,
 * the differential and incrementals it builds on, found by following parentBackupId on the
 * destination), full first so each set's verification finds its parents, and verifies each.
 * A set of the chain missing on the destination is an error that names it, before anything is
 * downloaded.
 */
export async function fetchRemoteFilesChain(
	destination: Destination,
	options: FetchRemoteFilesOptions,
): Promise<FetchedRemoteFilesChain> {
	const environment = checkEnvironmentName(options.environment);
	const where = destination.describe();
	const wanted = options.backupId?.trim();
	const target =
		wanted && wanted !== 'latest'
			? await readRemoteManifest(destination, environment, wanted)
			: await latestFilesSet(destination, environment, where);
	if (target.engine !== 'protheus-files')
		throw new BackupError(
			'SET_NOT_FOUND',
			`Backup set ${target.backupId} on ${where} is a ${target.engine} ${target.component} set, not a Protheus files set`,
			'Choose a files set (its ID ends in -files), or test a database set with the database operation.',
		);
	const chain = await remoteChain(destination, environment, target, where);
	const staging = await prepareStagingFolder(options.stagingFolder);
	const work = await makeDownloadFolder(staging);
	try {
		const { folder, downloadedBytes, downloadMs } = await downloadChain(destination, {
			work,
			environment,
			component: 'files',
			chain,
			target: target.backupId,
			verify: { zstdPath: options.zstdPath },
			logger: options.logger,
			signal: options.signal,
		});
		return {
			folder,
			backupId: target.backupId,
			destination: where,
			remotePath: remoteSetFolder(environment, target.backupId),
			downloadedBytes,
			downloadMs,
			chain,
			finish: downloadFinisher({ work, staging, environment, backupIds: chain, target: target.backupId }),
		};
	} catch (error) {
		await rm(work, { recursive: true, force: true });
		throw error;
	}
}

async function latestFilesSet(destination: Destination, environment: string, where: string): Promise<Manifest> {
	const { sets } = await listRemoteSets(destination, environment);
	const latest = sets.filter((s) => s.manifest.engine === 'protheus-files' && s.remoteStatus === 'complete').at(-1);
	if (!latest)
		throw new BackupError(
			'SET_NOT_FOUND',
			`No complete Protheus files set of environment ${environment} on ${where}`,
			'Check the environment name and the destination, or use the List operation of TOTVS Upload to see what it holds.',
		);
	return latest.manifest;
}

/** backupIds of the chain ending at `target`, full first, read from the manifests on the destination. */
async function remoteChain(
	destination: Destination,
	environment: string,
	target: Manifest,
	where: string,
): Promise<string[]> {
	const chain = [target.backupId];
	let current = manifestOf(target, 'protheus-files');
	while (current.type !== 'full') {
		const parentId = current.parentBackupId;
		if (!parentId || chain.length > 10_000)
			throw new BackupError(
				'BACKUP_CHAIN_BROKEN',
				`Set ${current.backupId} is ${current.type} but names no parent set`,
				'The manifest is damaged: make a new full backup.',
			);
		let parent: Manifest;
		try {
			parent = await readRemoteManifest(destination, environment, parentId);
		} catch (error) {
			throw new BackupError(
				'BACKUP_CHAIN_BROKEN',
				`Set ${target.backupId} cannot be restored from ${where}: the ${current.backupId === target.backupId ? 'set' : `set ${current.backupId} of its chain`} needs ${parentId}, which is missing there (${(error as Error).message})`,
				`Upload ${parentId} to ${where} again from the staging folder (TOTVS Upload), or restore an older set whose chain is complete.`,
				{ cause: error },
			);
		}
		current = manifestOf(parent, 'protheus-files');
		chain.unshift(current.backupId);
	}
	return chain;
}
