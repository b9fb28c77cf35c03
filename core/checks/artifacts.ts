import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Manifest } from '../backup-set/manifest';
import { systemErrorCode } from '../errors';
import { countOf, formatBytes } from '../format';
import { hashFile } from '../pipeline/hashing';
import { check, type CheckResult } from './check';

/** Every artifact of the set in `folder` has the byte size and SHA-256 its manifest recorded. */
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
	const expected = `${countOf(manifest.artifacts.length, 'artifact')}, ${formatBytes(total)}, SHA-256 as recorded`;
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
