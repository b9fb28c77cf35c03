import { readSet } from '../backup-set/catalog';
import type { Engine, Manifest } from '../backup-set/manifest';
import { BackupError } from '../errors';
import { checkArtifacts, checkPlaintexts } from './artifacts';
import { allPassed, check, type CheckResult, type Verification } from './check';

/** Engine-specific proof that the artifacts are readable backups, not just intact bytes. */
export type StructuralCheck<Options> = (folder: string, manifest: Manifest, options: Options) => Promise<CheckResult[]>;

/**
 * Proves a local set is intact: the manifest reads, every artifact has the recorded size and
 * SHA-256, then the structural checks `structural` holds for the set's engine. Failures are
 * reported as checks, not thrown: the report says everything that is wrong. Verify passes every
 * engine's checks; an engine's own restore passes only its own.
 */
export async function verifySetFolder<Options>(
	folder: string,
	options: Options,
	structural: Partial<Record<Engine, StructuralCheck<Options>>>,
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

	const artifacts = await checkArtifacts(folder, manifest);
	checks.push(artifacts);
	// A sealed set opened with an identity: the content too, not only the ciphertext.
	if (artifacts.ok && manifest.artifacts.some((a) => a.plaintext)) checks.push(await checkPlaintexts(folder, manifest));
	const engineChecks = structural[manifest.engine];
	if (engineChecks) checks.push(...(await engineChecks(folder, manifest, options)));
	return { manifest, verification: { ok: allPassed(checks), checkedAt, checks } };
}
