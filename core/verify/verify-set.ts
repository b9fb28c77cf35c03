import type { Manifest } from '../backup-set/manifest';
import type { Verification } from '../checks/check';
import { verifySetFolder, type StructuralCheck } from '../checks/set-verification';
import { checkPostgresSet, type PostgresVerifyOptions } from '../sources/postgres/verify';
import { checkPitrSet } from '../sources/postgres-pitr';
import { checkFilesSet, type FilesVerifyOptions } from '../sources/protheus-files/verify';
import { checkSqlServerSet, type SqlServerVerifyAccess } from '../sources/sqlserver/verify';

export type { CheckResult, Verification } from '../checks/check';

/** What Verify may need besides the set: each engine's own options. */
export interface VerifyOptions extends PostgresVerifyOptions, FilesVerifyOptions {
	/** A SQL Server that can read the set folder: lets Verify run RESTORE VERIFYONLY. */
	sqlServer?: SqlServerVerifyAccess;
}

/** Each engine's structural checks, picked by manifest.engine. */
const STRUCTURAL_CHECKS: Partial<Record<Manifest['engine'], StructuralCheck<VerifyOptions>>> = {
	postgres: checkPostgresSet,
	'protheus-files': checkFilesSet,
	sqlserver: (folder, manifest, options) => checkSqlServerSet(folder, manifest, options.sqlServer),
	'postgres-pitr': checkPitrSet,
};

/**
 * Proves a local set of any engine is intact: the manifest reads, every artifact has the recorded
 * size and SHA-256, and the engine's structural checks pass (pg_restore --list, the archive walk
 * and chain of a file set, SQL Server's chain and VERIFYONLY). Failures are reported as checks.
 */
export async function verifyLocalSet(
	folder: string,
	options: VerifyOptions = {},
): Promise<{ manifest?: Manifest; verification: Verification }> {
	return verifySetFolder(folder, options, STRUCTURAL_CHECKS);
}
