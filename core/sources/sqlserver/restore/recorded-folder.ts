/**
 * The shared folder a SQL Server set records (where TOTVS Dump had SQL Server write it) chooses
 * where SQL Server reads only when the manifest's signature verified against a trusted key of
 * the execution (Use Backup Keys). A manifest is a file anyone who could write to a destination
 * or a download folder may have edited: unsigned, it could send SQL Server to \\attacker\share.
 * Otherwise the set records nothing (NO_TRUSTED_FOLDER) and the caller must give the folder.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MANIFEST_FILE, MANIFEST_SIGNATURE_FILE, manifestOf, parseManifest } from '../../../backup-set/manifest';
import { currentSetKeys, verifyingKeys } from '../../../backup-set/set-keys';
import { systemErrorCode } from '../../../errors';
import { verifyManifestSignature } from '../../../sealing';
import type { SharedFolder } from '../shared-folder';

/** What a set records as its shared folder when its manifest is not signed by a trusted key: nothing. */
export const NO_TRUSTED_FOLDER: SharedFolder = Object.freeze({ serverFolder: '', localFolder: '' });

/**
 * The shared folder in `manifest` (the bytes of a manifest.json), when `signature` (those of
 * manifest.json.sig) verifies it against a trusted key; NO_TRUSTED_FOLDER without trusted keys
 * or without a signature. A signature that does not verify is an error naming `name`. The folder
 * is read from the very bytes whose signature verified.
 */
export function trustedFolderOf(
	name: string,
	where: string,
	manifest: Buffer,
	signature: Buffer | undefined | null,
): SharedFolder {
	const trusted = verifyingKeys(currentSetKeys());
	if (!trusted.length || !signature) return NO_TRUSTED_FOLDER;
	verifyManifestSignature(manifest, signature, trusted, { name });
	const { serverFolder, localFolder } = manifestOf(parseManifest(manifest.toString('utf8'), where), 'sqlserver').source;
	return { serverFolder, localFolder };
}

/** trustedFolderOf for the set in the local `folder` (a staging folder, a kept download, any folder). */
export async function trustedRecordedFolder(folder: string): Promise<SharedFolder> {
	const optional = (file: string) =>
		readFile(join(folder, file)).catch((error: unknown) => {
			if (systemErrorCode(error) === 'ENOENT') return undefined;
			throw error;
		});
	const manifest = await optional(MANIFEST_FILE);
	if (!manifest) return NO_TRUSTED_FOLDER;
	return trustedFolderOf(
		`Backup set at ${folder}`,
		join(folder, MANIFEST_FILE),
		manifest,
		await optional(MANIFEST_SIGNATURE_FILE),
	);
}
