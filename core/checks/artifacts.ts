import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Manifest } from '../backup-set/manifest';
import { openArtifact } from '../backup-set/sealed-read';
import { BackupError, systemErrorCode } from '../errors';
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

/**
 * A sealed set opened with an identity: every artifact decrypts (each chunk authenticates) to the
 * plaintext size and SHA-256 its sealed part records. A failure names the artifact.
 */
export async function checkPlaintexts(folder: string, manifest: Manifest): Promise<CheckResult> {
	const sealed = manifest.artifacts.filter((a) => a.plaintext);
	const problems: string[] = [];
	let bytes = 0;
	for (const artifact of sealed) {
		try {
			await pipeline(
				openArtifact(folder, manifest, artifact),
				new Writable({
					write(chunk: Buffer, _encoding, callback) {
						bytes += chunk.length;
						callback();
					},
				}),
			);
		} catch (error) {
			if (!(error instanceof BackupError)) throw error;
			problems.push(`${artifact.path}: ${error.message}`);
		}
	}
	const expected = `${sealed.length} artifacts decrypt to the plaintext size and SHA-256 sealed at backup time`;
	return problems.length
		? check(
				'decrypted',
				false,
				expected,
				`${problems.length} of ${sealed.length} differ`,
				problems.slice(0, 10).join('; '),
			)
		: check(
				'decrypted',
				true,
				expected,
				`${sealed.length} match (${formatBytes(bytes)} decrypted)`,
				'Every artifact decrypts with the identity given and matches its sealed plaintext hash',
			);
}
