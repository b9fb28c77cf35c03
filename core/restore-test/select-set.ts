import { resolve } from 'node:path';
import { listSets } from '../backup-set/catalog';
import { checkEnvironmentName } from '../backup-set/ids';
import { BackupError } from '../errors';

/**
 * Finds a PostgreSQL database set in a local or network folder laid out as
 * <root>/<environment>/<backupId>/: the given backupId, or the newest complete set of the
 * environment. Unfinished and invalid sets are never chosen.
 */
export async function findLocalDatabaseSet(root: string, environment: string, backupId?: string): Promise<string> {
	const folder = resolve(root.trim());
	const env = checkEnvironmentName(environment);
	const catalog = await listSets(folder, env);
	const candidates = catalog.sets.filter(
		(s) => s.manifest.engine === 'postgres' && s.manifest.component === 'database',
	);
	const wanted = backupId?.trim();
	const chosen = wanted ? candidates.find((s) => s.backupId === wanted) : candidates[candidates.length - 1];
	if (chosen) return chosen.folder;
	const unfinished = catalog.unfinished.length
		? ` (${catalog.unfinished.length} unfinished set folders without a manifest were ignored)`
		: '';
	throw new BackupError(
		'SET_NOT_FOUND',
		wanted
			? `No complete PostgreSQL backup set "${wanted}" in ${folder}/${env}${unfinished}`
			: `No complete PostgreSQL backup set of environment "${env}" in ${folder}${unfinished}`,
		'Check the backups folder (the one holding one sub-folder per environment) and the environment name, or run TOTVS Dump first.',
	);
}
