import { resolve } from 'node:path';
import { listSets } from '../backup-set/catalog';
import { checkEnvironmentName } from '../backup-set/ids';
import type { Manifest } from '../backup-set/manifest';
import { BackupError } from '../errors';

const ENGINE_NAMES: Record<string, string> = {
	postgres: 'PostgreSQL',
	sqlserver: 'SQL Server',
	'protheus-files': 'Protheus files',
};

/**
 * Finds a set of `engine` in a local or network folder laid out as
 * <root>/<environment>/<backupId>/: the given backupId, or the newest complete set of the
 * environment. Unfinished and invalid sets are never chosen.
 */
export async function findLocalSet(
	root: string,
	environment: string,
	backupId: string | undefined,
	engine: Manifest['engine'],
): Promise<string> {
	const folder = resolve(root.trim());
	const env = checkEnvironmentName(environment);
	const catalog = await listSets(folder, env);
	const candidates = catalog.sets.filter((s) => s.manifest.engine === engine);
	const wanted = backupId?.trim();
	const chosen = wanted ? candidates.find((s) => s.backupId === wanted) : candidates[candidates.length - 1];
	if (chosen) return chosen.folder;
	const unfinished = catalog.unfinished.length
		? ` (${catalog.unfinished.length} unfinished set folders without a manifest were ignored)`
		: '';
	const name = ENGINE_NAMES[engine] ?? engine;
	throw new BackupError(
		'SET_NOT_FOUND',
		wanted
			? `No complete ${name} backup set "${wanted}" in ${folder}/${env}${unfinished}`
			: `No complete ${name} backup set of environment "${env}" in ${folder}${unfinished}`,
		'Check the backups folder (the one holding one sub-folder per environment) and the environment name, or run TOTVS Dump first.',
	);
}

/** A PostgreSQL database set in a backups folder (see findLocalSet). */
export const findLocalDatabaseSet = (root: string, environment: string, backupId?: string) =>
	findLocalSet(root, environment, backupId, 'postgres');
