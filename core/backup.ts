import { hostname } from 'node:os';
import { join } from 'node:path';
import { MANIFEST_FILE, MANIFEST_FORMAT_VERSION, type Manifest } from './backup-set/manifest';
import { BackupSetWriter } from './backup-set/set-writer';
import { checkEnvironmentName } from './backup-set/ids';
import { prepareStagingFolder } from './location/staging-folder';
import { packageInfo } from './package-info';
import type { DumpRequest, Source } from './sources/source';

export interface BackupResult {
	manifest: Manifest;
	/** The set folder. */
	folder: string;
	manifestPath: string;
}

/**
 * Makes one backup set from a source: pre-flight (nothing written yet), then the artifacts,
 * then the manifest. On any failure the unfinished set folder is removed and the error
 * propagates; nothing that existed before is touched.
 */
export async function makeBackup<C, O>(
	source: Source<C, O>,
	request: Omit<DumpRequest<C, O>, 'stagingFolder'> & { stagingFolder?: string },
): Promise<BackupResult> {
	const environment = checkEnvironmentName(request.environment);
	const stagingFolder = await prepareStagingFolder(request.stagingFolder);
	const prepared = await source.prepare({ ...request, environment, stagingFolder });
	let set: BackupSetWriter | undefined;
	try {
		const startedAt = new Date();
		const chain = prepared.chain ?? { type: request.type, baseBackupId: null, parentBackupId: null };
		set = await BackupSetWriter.create(stagingFolder, environment, chain.type, source.component, startedAt);
		const outcome = await prepared.dump(set);
		const finishedAt = new Date();
		const pkg = packageInfo();
		const manifest: Manifest = {
			formatVersion: MANIFEST_FORMAT_VERSION,
			backupId: set.backupId,
			environment,
			component: source.component,
			engine: source.engine,
			type: chain.type,
			baseBackupId: chain.baseBackupId,
			parentBackupId: chain.parentBackupId,
			startedAt: startedAt.toISOString(),
			finishedAt: finishedAt.toISOString(),
			durationMs: finishedAt.getTime() - startedAt.getTime(),
			createdBy: { package: pkg.name, version: pkg.version, hostname: hostname() },
			source: outcome.source,
			options: outcome.options,
			compression: outcome.compression,
			encryption: { method: 'none' },
			artifacts: set.artifacts,
			inventory: outcome.inventory,
			...(request.restorePointId ? { restorePointId: request.restorePointId } : {}),
		};
		const manifestPath = await set.commit(manifest);
		return { manifest, folder: set.folder, manifestPath };
	} catch (error) {
		await set?.abort();
		throw error;
	} finally {
		await prepared.close();
	}
}

export const manifestPathOf = (folder: string) => join(folder, MANIFEST_FILE);
