import { join } from 'node:path';
import { isSealed, isSealedWithoutKeys, manifestOf, type Manifest } from '../../backup-set/manifest';
import { openArtifact, sealedFor } from '../../backup-set/sealed-read';
import { BackupError } from '../../errors';
import { check, notRun, type CheckResult } from '../../checks/check';
import { readArchiveToc, readArchiveTocFrom, tableKey } from './archive';
import { findClientTool } from './client-tools';

export interface PostgresVerifyOptions {
	/** Folder holding pg_restore; found automatically when empty. */
	pgClientFolder?: string;
}

/** A PostgreSQL set's structural checks (after its artifacts' sizes and SHA-256). */
export const checkPostgresSet = async (
	folder: string,
	manifest: Manifest,
	options: PostgresVerifyOptions,
): Promise<CheckResult[]> => [await checkPostgresArchive(folder, manifest, options)];

/** The dump's own table of contents must list TABLE DATA for every table in the inventory. */
export async function checkPostgresArchive(
	folder: string,
	manifest: Manifest,
	options: PostgresVerifyOptions,
): Promise<CheckResult> {
	const custom = manifest.artifacts.find((a) => a.kind === 'pg_dump-custom');
	const archive = custom?.path ?? manifest.artifacts.find((a) => a.kind === 'pg_dump-directory')?.path.split('/')[0];
	if (isSealedWithoutKeys(manifest))
		return notRun(
			'archive',
			'pg_restore --list reads the dump',
			`The set is encrypted and no identity was given: its ciphertext was checked (artifacts), its content needs the private key of ${sealedFor(manifest).join(', ')} (Use Backup Keys with an Identity)`,
		);
	const tables = manifestOf(manifest, 'postgres').inventory.tables.map((t) => tableKey(t.schema, t.name));
	const expected = `pg_restore --list reads the dump; TABLE DATA for ${tables.length} tables`;
	if (!archive)
		return check('archive', false, expected, 'no pg_dump artifact', 'The manifest lists no pg_dump archive');
	try {
		const pgRestore = await findClientTool('pg_restore', options.pgClientFolder);
		const toc =
			isSealed(manifest) && custom
				? await readArchiveTocFrom(pgRestore.path, openArtifact(folder, manifest, custom), custom.path)
				: await readArchiveToc(pgRestore.path, join(folder, archive));
		const missing = tables.filter((t) => !toc.tableData.has(t));
		return missing.length
			? check(
					'archive',
					false,
					expected,
					`${missing.length} tables without data`,
					`Missing TABLE DATA for ${missing.slice(0, 20).join(', ')}`,
				)
			: check(
					'archive',
					true,
					expected,
					`${toc.entries} entries, TABLE DATA for all ${tables.length} tables`,
					`pg_restore ${pgRestore.version} read the archive`,
				);
	} catch (error) {
		if (!(error instanceof BackupError)) throw error;
		return check('archive', false, expected, 'unreadable', `${error.message}. ${error.hint}`);
	}
}
