import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { readSet } from '../backup-set/catalog';
import type { Manifest } from '../backup-set/manifest';
import { BackupError, systemErrorCode } from '../errors';
import { formatBytes } from '../format';
import { hashFile } from '../pipeline/hashing';
import { checkPostgresArchive } from '../sources/postgres/verify';
import { checkFilesSet } from '../sources/protheus-files/verify';
import { checkSqlServerSet } from '../sources/sqlserver/verify';
import { allPassed, check, type CheckResult, type Verification, type VerifyOptions } from './checks';

export type { CheckResult, Verification, VerifyOptions } from './checks';

/**
 * Proves a local set is intact: the manifest reads, every artifact has the recorded size and
 * SHA-256, and the archive itself is readable and holds data for every inventoried table.
 * Failures are reported as checks, not thrown: the report says everything that is wrong.
 */
export async function verifyLocalSet(
	folder: string,
	options: VerifyOptions = {},
): Promise<{ manifest?: Manifest; verification: Verification }> {
	const checkedAt = new Date().toISOString();
	const checks: CheckResult[] = [];
	let manifest: Manifest;
	try {
		manifest = await readSet(folder);
		checks.push(
			check('manifest', true, 'valid manifest', 'valid manifest', `manifest.json of ${manifest.backupId} is valid`),
		);
	} catch (error) {
		if (!(error instanceof BackupError)) throw error;
		checks.push(check('manifest', false, 'valid manifest', 'invalid or missing', error.message));
		return { verification: { ok: false, checkedAt, checks } };
	}

	checks.push(await checkArtifacts(folder, manifest));
	const structural = STRUCTURAL_CHECKS[manifest.engine];
	if (structural) checks.push(...(await structural(folder, manifest, options)));
	return { manifest, verification: { ok: allPassed(checks), checkedAt, checks } };
}

/** Engine-specific proof that the artifacts are readable backups, not just intact bytes. */
type StructuralCheck = (folder: string, manifest: Manifest, options: VerifyOptions) => Promise<CheckResult[]>;
const STRUCTURAL_CHECKS: Partial<Record<Manifest['engine'], StructuralCheck>> = {
	postgres: async (folder, manifest, options) => [await checkPostgresArchive(folder, manifest, options)],
	'protheus-files': (folder, manifest, options) => checkFilesSet(folder, manifest, options),
	sqlserver: (folder, manifest, options) => checkSqlServerSet(folder, manifest, options.sqlServer),
};

export async function checkArtifacts(folder: string, manifest: Manifest): Promise<CheckResult> {
	const problems: string[] = [];
	let bytes = 0;
	for (const artifact of manifest.artifacts) {
		const path = join(folder, ...artifact.path.split('/'));
		try {
			const size = (await stat(path)).size;
			if (size !== artifact.bytes) {
				problems.push(`${artifact.path}: size ${size} bytes, expected ${artifact.bytes} (truncated or altered)`);
				continue;
			}
			const actual = await hashFile(path);
			bytes += actual.bytes;
			if (actual.sha256 !== artifact.sha256)
				problems.push(
					`${artifact.path}: SHA-256 ${actual.sha256.slice(0, 16)}…, expected ${artifact.sha256.slice(0, 16)}… (content altered)`,
				);
		} catch (error) {
			if (systemErrorCode(error) !== 'ENOENT') throw error;
			problems.push(`${artifact.path}: missing`);
		}
	}
	const total = manifest.artifacts.reduce((sum, a) => sum + a.bytes, 0);
	const expected = `${manifest.artifacts.length} artifacts, ${formatBytes(total)}, SHA-256 as recorded`;
	return problems.length
		? check(
				'artifacts',
				false,
				expected,
				`${problems.length} of ${manifest.artifacts.length} differ`,
				problems.slice(0, 20).join('; '),
			)
		: check(
				'artifacts',
				true,
				expected,
				`${manifest.artifacts.length} match (${formatBytes(bytes)} read)`,
				'Every artifact has the size and SHA-256 recorded at backup time',
			);
}
