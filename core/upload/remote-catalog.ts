/**
 * The catalog of backup sets on a destination: the same layout (`<environment>/<backupId>/`),
 * the same entry types and the same rules as core/backup-set/catalog.ts for the staging folder
 * (an unreadable manifest is invalid), plus what only matters remotely: whether every artifact is
 * actually there with its recorded size, and whose a folder without manifest is. A destination
 * folder is shared with people: only a folder with a backupId name of the environment AND our
 * upload's in-progress marker is an unfinished set (which Prune may clean); any other folder is
 * `ignored`, reported and never touched.
 */
import { BackupError, type BackupErrorCode } from '../errors';
import { misplacedReason, type Catalog, type CatalogEntry, type UnfinishedSet } from '../backup-set/catalog';
import { isBackupIdOf } from '../backup-set/ids';
import { checkManifestSignature } from '../backup-set/catalog';
import {
	IN_PROGRESS_MARKER,
	MANIFEST_FILE,
	MANIFEST_SIGNATURE_FILE,
	parseManifest,
	type Manifest,
} from '../backup-set/manifest';
import type { Destination, RemoteEntry } from '../destinations';
import type { InvalidSetSummary, SetSummary, UnfinishedSummary } from '../retention/retention';

export const MAX_MANIFEST_BYTES = 64 << 20;
/** What a set's own content can cause (a bad or oversized manifest): that set is invalid, the listing goes on. */
const SET_CONTENT_ERRORS = new Set<BackupErrorCode>(['MANIFEST_INVALID', 'INVALID_INPUT']);

export interface RemoteSetEntry extends CatalogEntry {
	/**
	 * 'complete': every artifact the manifest lists is present with its recorded size, as the
	 * destination's folder listings show them (one listing per folder of the set, not a request
	 * per file); 'damaged': not. Contents are not hashed here: Verify does that.
	 */
	remoteStatus: 'complete' | 'damaged';
	problem?: string;
	/** Sum of the artifacts' sizes as the manifest records them. */
	bytes: number;
}

export interface RemoteUnfinishedSet extends UnfinishedSet {
	/** Bytes in the folder's top level (partial files included). */
	bytes: number;
}

/** A folder in an environment that is not provably ours: listed, never cleaned. */
export interface IgnoredFolder {
	folder: string;
	reason: string;
}

export interface RemoteCatalog extends Catalog {
	sets: RemoteSetEntry[];
	/** Only interrupted uploads of ours: a backupId name and the in-progress marker inside. */
	unfinished: RemoteUnfinishedSet[];
	/** Folders without manifest that are not provably ours (a DBA's scripts folder, a copy made by hand). */
	ignored: IgnoredFolder[];
}

export const remoteSetFolder = (environment: string, backupId: string) => `${environment}/${backupId}`;
export const remoteManifestPath = (environment: string, backupId: string) =>
	`${remoteSetFolder(environment, backupId)}/${MANIFEST_FILE}`;

/** Reads and validates a set's manifest on the destination; SET_NOT_FOUND when it has none. */
export async function readRemoteManifest(
	destination: Destination,
	environment: string,
	backupId: string,
): Promise<Manifest> {
	const path = remoteManifestPath(environment, backupId);
	const content = await destination.readSmallFile(path, MAX_MANIFEST_BYTES);
	if (!content)
		throw new BackupError(
			'SET_NOT_FOUND',
			`No complete backup set ${backupId} in ${destination.describe()}/${environment}: ${MANIFEST_FILE} is missing`,
			'Use the List operation to see the sets this destination holds. A set folder without manifest.json is an unfinished upload.',
		);
	// Checked before anything in it is used (its artifact list chooses what a download fetches).
	await checkManifestSignature(`Backup set ${backupId} on ${destination.describe()}`, content, async () => {
		const signature = await destination.readSmallFile(
			`${remoteSetFolder(environment, backupId)}/${MANIFEST_SIGNATURE_FILE}`,
			MAX_MANIFEST_BYTES,
		);
		return signature ?? undefined;
	});
	return parseManifest(content.toString('utf8'), `${destination.describe()}/${path}`);
}

/** Lists the sets on a destination, for one environment or all; complete sets oldest first. */
export async function listRemoteSets(destination: Destination, environment?: string): Promise<RemoteCatalog> {
	const catalog: RemoteCatalog = { sets: [], unfinished: [], invalid: [], ignored: [] };
	const environments = environment
		? [environment]
		: (await destination.list(''))
				.filter((e) => e.isFolder)
				.map((e) => e.name)
				.sort();
	for (const env of environments) {
		const folders = (await destination.list(env))
			.filter((e) => e.isFolder)
			.sort((a, b) => a.name.localeCompare(b.name));
		for (const folder of folders) {
			const entries = await destination.list(folder.path);
			if (!entries.some((e) => e.name === MANIFEST_FILE && !e.isFolder)) {
				const notOurs = foreignReason(env, folder.name, entries);
				if (notOurs) {
					catalog.ignored.push({ folder: folder.path, reason: notOurs });
					continue;
				}
				catalog.unfinished.push({
					environment: env,
					backupId: folder.name,
					folder: folder.path,
					modifiedAt: newestChange(folder, entries),
					bytes: entries.reduce((sum, e) => sum + e.size, 0),
				});
				continue;
			}
			try {
				const manifest = await readRemoteManifest(destination, env, folder.name);
				const misplaced = misplacedReason(manifest, env, folder.name);
				if (misplaced) {
					catalog.invalid.push({ folder: folder.path, reason: misplaced });
					continue;
				}
				const problem = await missingArtifacts(destination, folder.path, manifest, entries);
				catalog.sets.push({
					environment: env,
					backupId: folder.name,
					folder: folder.path,
					manifest,
					remoteStatus: problem ? 'damaged' : 'complete',
					...(problem ? { problem } : {}),
					bytes: manifest.artifacts.reduce((sum, a) => sum + a.bytes, 0),
				});
			} catch (error) {
				// One bad set is reported, never fatal: it must not stop List and Prune for the whole
				// environment. Connection and permission errors still fail (the listing is then unknown).
				if (!(error instanceof BackupError) || !SET_CONTENT_ERRORS.has(error.code)) throw error;
				catalog.invalid.push({ folder: folder.path, reason: error.message });
			}
		}
	}
	catalog.sets.sort(
		(a, b) => a.manifest.startedAt.localeCompare(b.manifest.startedAt) || a.backupId.localeCompare(b.backupId),
	);
	return catalog;
}

/** Why a folder without manifest cannot be proven to be an interrupted upload of ours; undefined when it can. */
function foreignReason(environment: string, name: string, entries: RemoteEntry[]): string | undefined {
	if (!isBackupIdOf(environment, name))
		return `not named like a backup set of ${environment} (${environment}-<time>-<type>-<db|files>) and has no ${MANIFEST_FILE}: not made by TOTVS Upload, left untouched`;
	if (!entries.some((e) => e.name === IN_PROGRESS_MARKER && !e.isFolder))
		return `named like a backup set of ${environment} but has no ${MANIFEST_FILE} and no in-progress marker (${IN_PROGRESS_MARKER}), so it cannot be proven to be an interrupted upload: left untouched. If it is one (made by a version without the marker), delete it by hand`;
	return undefined;
}

/**
 * Every artifact present with its recorded size; undefined when so, else what is wrong. One
 * listing per folder of the set (the set folder itself is already listed), never a request per
 * artifact: a `-Fd` dump holds one file per table, thousands per set. Hashes are not read here
 * (that is Verify's job, which reads every file).
 */
async function missingArtifacts(
	destination: Destination,
	folder: string,
	manifest: Manifest,
	entries: RemoteEntry[],
): Promise<string | undefined> {
	const sizes = new Map<string, Map<string, number>>();
	const filesIn = async (subfolder: string) => {
		let files = sizes.get(subfolder);
		if (!files) {
			const listed = subfolder ? await destination.list(`${folder}/${subfolder}`) : entries;
			files = new Map(listed.filter((e) => !e.isFolder).map((e) => [e.name, e.size]));
			sizes.set(subfolder, files);
		}
		return files;
	};
	const problems: string[] = [];
	for (const artifact of manifest.artifacts) {
		const slash = artifact.path.lastIndexOf('/');
		const size = (await filesIn(slash < 0 ? '' : artifact.path.slice(0, slash))).get(artifact.path.slice(slash + 1));
		if (size === undefined) problems.push(`${artifact.path}: missing`);
		else if (size !== artifact.bytes) problems.push(`${artifact.path}: ${size} bytes, expected ${artifact.bytes}`);
	}
	return problems.length ? problems.slice(0, 10).join('; ') : undefined;
}

function newestChange(folder: RemoteEntry, entries: RemoteEntry[]): Date {
	const times = [folder, ...entries].map((e) => e.modifiedAt?.getTime()).filter((t): t is number => t !== undefined);
	// No time at all from the service: treat as just changed, so it is never cleaned by mistake.
	return new Date(times.length ? Math.max(...times) : Date.now());
}

/** The catalog in the terms retention works with. */
export function retentionInput(catalog: RemoteCatalog): {
	sets: SetSummary[];
	unfinished: UnfinishedSummary[];
	invalid: InvalidSetSummary[];
} {
	return {
		invalid: catalog.invalid.map((i) => {
			const slash = i.folder.lastIndexOf('/');
			return { environment: i.folder.slice(0, slash), backupId: i.folder.slice(slash + 1), reason: i.reason };
		}),
		sets: catalog.sets.map((s) => ({
			environment: s.environment,
			backupId: s.backupId,
			component: s.manifest.component,
			type: s.manifest.type,
			baseBackupId: s.manifest.baseBackupId,
			parentBackupId: s.manifest.parentBackupId,
			startedAt: s.manifest.startedAt,
			bytes: s.bytes,
			verified: s.remoteStatus === 'complete',
			...(s.problem ? { problem: s.problem } : {}),
			engine: s.manifest.engine,
		})),
		unfinished: catalog.unfinished.map((u) => ({
			environment: u.environment,
			backupId: u.backupId,
			modifiedAt: u.modifiedAt.toISOString(),
			bytes: u.bytes,
		})),
	};
}
