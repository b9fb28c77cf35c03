/**
 * Sealed point-in-time sets (issue 12 × 15). pg_basebackup and pg_receivewal write their files
 * themselves, so a sealed run has them write into a private working folder (0700) inside the
 * unfinished set folder; each file is then encrypted into the set as `<path>.age` by the set
 * writer (ciphertext size and SHA-256 public, plaintext hashes in the sealed part) and its
 * plaintext removed at once. The working folder is removed when the run ends, also on failure
 * or cancel; a set folder left by a killed n8n has no manifest, so Prune removes it (with any
 * plaintext in it). Reading: every artifact of a sealed set is decrypted on the fly.
 */
import { createReadStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { ArtifactRecord, Manifest } from '../../backup-set/manifest';
import { identitiesFor, openArtifact } from '../../backup-set/sealed-read';
import type { BackupSetWriter } from '../../backup-set/set-writer';
import { currentSetKeys } from '../../backup-set/set-keys';
import { BackupError } from '../../errors';
import type { PitrSetRecord } from './manifest';

/** The working folder of a sealed run, inside the unfinished set folder (removed with it). */
export const WORK_FOLDER = '.plaintext-work';

/** Creates the private working folder of a sealed run (0700, must not exist). */
export async function makeWorkFolder(set: BackupSetWriter): Promise<string> {
	const folder = set.absolutePath(WORK_FOLDER);
	await mkdir(folder, { mode: 0o700 });
	return folder;
}

export const removeWorkFolder = (folder: string) => rm(folder, { recursive: true, force: true });

/**
 * Puts a file a PostgreSQL program wrote into the set: in the clear, hashed where it lies; in a
 * sealed run, encrypted from the working folder into the set (`<path>.age`), then the plaintext
 * removed. The record's path is the stored one.
 */
export async function storeWritten(
	set: BackupSetWriter,
	workFolder: string | undefined,
	relativePath: string,
	kind: string,
): Promise<ArtifactRecord> {
	if (!workFolder) return set.addWrittenFile(relativePath, kind);
	const plain = join(workFolder, ...relativePath.split('/'));
	try {
		return await set.writeArtifact(relativePath, kind, createReadStream(plain, { highWaterMark: 1 << 20 }));
	} finally {
		await rm(plain, { force: true });
	}
}

/** The set is sealed (age): its artifacts are `<path>.age`. */
export const isSealedSet = (set: PitrSetRecord) => Boolean(set.sealedFor);

/** What openArtifact needs of a manifest. */
const manifestView = (set: PitrSetRecord) =>
	({
		backupId: set.backupId,
		encryption: set.sealedFor
			? { method: 'age', recipients: set.sealedFor.map((fingerprint) => ({ fingerprint })), sealedPart: '' }
			: { method: 'none' },
	}) as unknown as Manifest;

/**
 * Throws, before anything is written, when a sealed set of `sets` cannot be opened: no identity
 * (naming the fingerprints it was sealed for). A wrong identity is named by the first decryption.
 */
export function requireIdentities(sets: PitrSetRecord[]): void {
	for (const set of sets) if (isSealedSet(set)) identitiesFor(manifestView(set));
}

/** A sealed set read without an identity (its plaintext hashes are unknown). */
export const sealedWithoutKeys = (set: PitrSetRecord) => isSealedSet(set) && !currentSetKeys()?.identities?.length;

/**
 * The bytes of one stored file as pg_basebackup or pg_receivewal wrote them (still compressed):
 * the file itself in the clear; decrypted on the fly (each chunk authenticated, the whole checked
 * against the sealed plaintext hash) for a sealed set.
 */
export function openPitrFile(set: PitrSetRecord, path: string): Readable {
	const file = join(set.folder, ...path.split('/'));
	if (!isSealedSet(set)) return createReadStream(file, { highWaterMark: 1 << 20 });
	const artifact = set.artifacts.find((a) => a.path === path);
	if (!artifact)
		throw new BackupError(
			'VERIFY_FAILED',
			`${path} is not among the artifacts of ${set.backupId}`,
			'The manifest is damaged: use another copy of the set.',
		);
	return openArtifact(set.folder, manifestView(set), artifact);
}

/**
 * A sealed run continues a sealed chain only, and a run in the clear a chain in the clear: a mix
 * would leave the chain half readable. Refused before anything is collected.
 */
export function requireSameSealing(previous: PitrSetRecord, sealed: boolean): void {
	if (isSealedSet(previous) === sealed) return;
	throw new BackupError(
		'INVALID_INPUT',
		sealed
			? `Encryption is on, but this chain's newest set ${previous.backupId} was made without encryption; a point-in-time chain is sealed from its base backup on, so no WAL was collected.`
			: `Encryption is off, but this chain's newest set ${previous.backupId} is sealed (encrypted); its WAL would be left in the clear, so no WAL was collected.`,
		sealed
			? 'Run a Base Backup (Full) with "Encrypt and Sign" on: the next incrementals continue that new chain. Or turn encryption off until then.'
			: 'Turn "Encrypt and Sign" on again (with the same TOTVS Backup Keys), or run a Base Backup (Full) to start a new chain in the clear.',
	);
}
