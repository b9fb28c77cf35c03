import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { checkEnvironmentName } from '../../backup-set/ids';
import { isSealedWithoutKeys, MANIFEST_FILE, MANIFEST_SIGNATURE_FILE, manifestOf } from '../../backup-set/manifest';
import { identitiesFor, unsealManifest } from '../../backup-set/sealed-read';
import { currentSetKeys, verifyingKeys } from '../../backup-set/set-keys';
import type { Destination } from '../../destinations';
import { BackupError } from '../../errors';
import { prepareStagingFolder } from '../../location/staging-folder';
import type { Logger } from '../../logger';
import { chainMemberOf } from '../../sources/sqlserver/chain-members';
import { planRestoreChain } from '../../sources/sqlserver/lsn-chain';
import { NO_TRUSTED_FOLDER, trustedFolderOf } from '../../sources/sqlserver/restore/recorded-folder';
import { isInShared, type SharedFolder } from '../../sources/sqlserver/shared-folder';
import { listRemoteSets, MAX_MANIFEST_BYTES, remoteSetFolder, type RemoteSetEntry } from '../../upload/remote-catalog';
import { downloadChain, downloadFinisher, makeDownloadFolder, type FetchedRemoteSet } from './download-folder';

export interface FetchRemoteSqlServerOptions {
	environment: string;
	/** A backupId; empty or 'latest' for the newest complete SQL Server database set of the environment. */
	backupId?: string;
	/**
	 * The folder SQL Server shares with n8n. `recorded` is the one TOTVS Dump recorded in the
	 * chosen set only when that set's manifest is signed by a trusted key; otherwise both its
	 * paths are empty (NO_TRUSTED_FOLDER) and the caller must give the folder itself.
	 */
	sharedFolder: (recorded: SharedFolder) => SharedFolder;
	/** A folder inside the shared folder (as n8n sees it) to download into; empty: the shared folder itself. */
	stagingFolder?: string;
	logger?: Logger;
	signal?: AbortSignal;
}

export interface FetchedRemoteSqlServerChain extends FetchedRemoteSet {
	/** The shared folder the chain was downloaded into: the restore must use the same. */
	shared: SharedFolder;
	/** backupIds of the sets downloaded, in restore order (full, differential, logs). */
	chain: string[];
}

const isSqlServerDatabaseSet = (s: RemoteSetEntry) =>
	s.manifest.engine === 'sqlserver' && s.manifest.component === 'database';

/**
 * Downloads a SQL Server set from a destination for a restore, with every set its restore needs
 * (its full, the differential, the logs before it: planned from the LSNs of the sets on the
 * destination), and verifies each. SQL Server reads the files itself, so they land in a fresh
 * private folder inside the folder it shares with n8n; a set of the same ID already there (the
 * one Dump wrote) is neither reused nor touched, and `finish` removes only what was downloaded.
 */
export async function fetchRemoteSqlServerChain(
	destination: Destination,
	options: FetchRemoteSqlServerOptions,
): Promise<FetchedRemoteSqlServerChain> {
	const environment = checkEnvironmentName(options.environment);
	const where = destination.describe();
	const { sets } = await listRemoteSets(destination, environment);
	const target = chooseSet(sets, environment, options.backupId, where);
	const m = manifestOf(target.manifest, 'sqlserver');
	const sameDatabase = await withInventories(
		destination,
		target,
		sets
			.filter((s) => isSqlServerDatabaseSet(s) && s.remoteStatus === 'complete')
			.filter((s) => {
				const source = manifestOf(s.manifest, 'sqlserver').source;
				return source.database === m.source.database && source.serverName === m.source.serverName;
			}),
		options.logger,
	);
	let chain: string[];
	try {
		chain = planRestoreChain(
			chainMemberOf((sameDatabase.find((s) => s.backupId === target.backupId) ?? target).manifest),
			sameDatabase.map((s) => chainMemberOf(s.manifest)),
		).map((member) => member.backupId);
	} catch (error) {
		if (!(error instanceof BackupError)) throw error;
		throw new BackupError(error.code, `${error.message} (sets on ${where}/${environment})`, error.hint, {
			cause: error,
		});
	}

	// A manifest on a destination chooses no path and no server unless a trusted key signed it.
	const shared = options.sharedFolder(await trustedRemoteFolder(destination, environment, m.backupId));
	const staging = options.stagingFolder?.trim() ? resolve(options.stagingFolder.trim()) : shared.localFolder;
	if (!isInShared(staging, shared))
		throw new BackupError(
			'INVALID_INPUT',
			`Staging folder ${staging} is not inside the folder shared with SQL Server (${shared.localFolder})`,
			'SQL Server restores from the files n8n downloads, so they must land in the shared folder: leave "Staging Folder" empty (the shared folder itself) or give a folder inside it.',
		);
	await prepareStagingFolder(staging);
	const work = await makeDownloadFolder(staging);
	try {
		const { folder, downloadedBytes, downloadMs } = await downloadChain(destination, {
			work,
			environment,
			component: 'database',
			chain,
			target: m.backupId,
			logger: options.logger,
			signal: options.signal,
		});
		return {
			folder,
			backupId: m.backupId,
			destination: where,
			remotePath: remoteSetFolder(environment, m.backupId),
			downloadedBytes,
			downloadMs,
			shared,
			chain,
			finish: downloadFinisher({ work, staging, environment, backupIds: chain, target: m.backupId }),
		};
	} catch (error) {
		await rm(work, { recursive: true, force: true });
		throw error;
	}
}

/**
 * The sets with their inventories: a sealed set keeps its LSNs (what the chain is planned from)
 * in its sealed part, so each sealed candidate's sealed part (a few KiB) is read from the
 * destination into a private temporary folder and opened with the execution's identities; no
 * identity is an error naming the keys the target was sealed for, and an identity that cannot
 * open the target names them too. A candidate other than the target that these identities cannot
 * open (sealed for a retired key) is left out of the plan, with a warning.
 */
async function withInventories(
	destination: Destination,
	target: RemoteSetEntry,
	candidates: RemoteSetEntry[],
	logger: Logger | undefined,
): Promise<RemoteSetEntry[]> {
	if (!candidates.some((s) => isSealedWithoutKeys(s.manifest))) return candidates;
	const identities = identitiesFor(target.manifest);
	const scratch = await mkdtemp(join(tmpdir(), 'totvs-sealed-parts-'));
	try {
		const out: RemoteSetEntry[] = [];
		for (const entry of candidates) {
			if (!isSealedWithoutKeys(entry.manifest) || entry.manifest.encryption.method !== 'age') {
				out.push(entry);
				continue;
			}
			const part = entry.manifest.encryption.sealedPart;
			const bytes = await destination.readSmallFile(`${entry.folder}/${part}`, MAX_MANIFEST_BYTES);
			const folder = join(scratch, entry.backupId);
			await mkdir(folder, { mode: 0o700 });
			if (bytes) await writeFile(join(folder, ...part.split('/')), bytes, { mode: 0o600, flag: 'wx' });
			try {
				out.push({ ...entry, manifest: await unsealManifest(folder, entry.manifest, identities) });
			} catch (error) {
				if (entry.backupId === target.backupId) throw error;
				logger?.warn(
					`Backup set ${entry.backupId} on ${destination.describe()} is left out of the restore plan: ${(error as Error).message}`,
				);
			}
		}
		return out;
	} finally {
		await rm(scratch, { recursive: true, force: true });
	}
}

/**
 * The shared folder recorded in the manifest of set `backupId` on the destination, read from the
 * very bytes whose signature verified against a trusted key of the execution (Use Backup Keys);
 * NO_TRUSTED_FOLDER without trusted keys or without a signature (an unsigned set, accepted only
 * with the opt-in). A signature that does not verify is an error.
 */
async function trustedRemoteFolder(destination: Destination, environment: string, backupId: string) {
	if (!verifyingKeys(currentSetKeys()).length) return NO_TRUSTED_FOLDER;
	const folder = remoteSetFolder(environment, backupId);
	const bytes = await destination.readSmallFile(`${folder}/${MANIFEST_FILE}`, MAX_MANIFEST_BYTES);
	if (!bytes) return NO_TRUSTED_FOLDER;
	const signature = await destination.readSmallFile(`${folder}/${MANIFEST_SIGNATURE_FILE}`, MAX_MANIFEST_BYTES);
	return trustedFolderOf(
		`Backup set ${backupId} on ${destination.describe()}`,
		`${destination.describe()}/${folder}/${MANIFEST_FILE}`,
		bytes,
		signature,
	);
}

function chooseSet(
	sets: RemoteSetEntry[],
	environment: string,
	backupId: string | undefined,
	where: string,
): RemoteSetEntry {
	const wanted = backupId?.trim();
	const entry =
		wanted && wanted !== 'latest'
			? sets.find((s) => s.backupId === wanted)
			: sets.filter((s) => isSqlServerDatabaseSet(s) && s.remoteStatus === 'complete').at(-1);
	if (!entry)
		throw new BackupError(
			'SET_NOT_FOUND',
			wanted && wanted !== 'latest'
				? `No complete backup set ${wanted} in ${where}/${environment}`
				: `No complete SQL Server database set of environment ${environment} on ${where}`,
			'Check the environment name, the backup ID and the destination, or use the List operation of TOTVS Upload to see what it holds.',
		);
	if (!isSqlServerDatabaseSet(entry))
		throw new BackupError(
			'SET_NOT_FOUND',
			`Backup set ${entry.backupId} on ${where} is a ${entry.manifest.engine} ${entry.manifest.component} set, not a SQL Server database set`,
			'Choose a SQL Server database set, or set "Restore Server" to the engine of this set.',
		);
	if (entry.remoteStatus !== 'complete')
		throw new BackupError(
			'VERIFY_FAILED',
			`Backup set ${entry.backupId} on ${where} is damaged, nothing was restored: ${entry.problem ?? 'an artifact is missing'}`,
			'Upload the set again with TOTVS Upload (or make a new backup), then rerun.',
		);
	return entry;
}

/** Kept here too: callers of the remote fetch import it from this module. */
export { NO_TRUSTED_FOLDER };
