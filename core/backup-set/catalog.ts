import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { BackupError, systemErrorCode } from '../errors';
import { isSealingError, verifyManifestSignature } from '../sealing';
import { MANIFEST_FILE, MANIFEST_SIGNATURE_FILE, parseManifest, type Manifest } from './manifest';
import { unsealManifest } from './sealed-read';
import { currentSetKeys, verifyingKeys } from './set-keys';

export interface CatalogEntry {
	environment: string;
	backupId: string;
	folder: string;
	manifest: Manifest;
}

export interface UnfinishedSet {
	environment: string;
	backupId: string;
	folder: string;
	modifiedAt: Date;
}

export interface Catalog {
	/** Complete sets (a valid manifest), oldest first. */
	sets: CatalogEntry[];
	/** Folders without a manifest: interrupted or in progress. Never listed as backups. */
	unfinished: UnfinishedSet[];
	/** Folders whose manifest cannot be read: reported, never used. */
	invalid: Array<{ folder: string; reason: string }>;
}

/**
 * Reads and validates the manifest of the set in `folder`: the one place a manifest is read.
 * With the execution's keys (set-keys.ts): the signature (manifest.json.sig) must verify against
 * a trusted key when any is configured (an unsigned set only with the explicit opt-in), and a
 * sealed set is unsealed when an identity opens it (inventory and plaintext hashes filled in).
 * Without an identity a sealed set reads with `inventory: null` (see isSealedWithoutKeys).
 */
export async function readSet(folder: string): Promise<Manifest> {
	const manifestPath = join(folder, MANIFEST_FILE);
	let bytes: Buffer;
	try {
		bytes = await readFile(manifestPath);
	} catch (error) {
		if (systemErrorCode(error) === 'ENOENT')
			throw new BackupError(
				'SET_NOT_FOUND',
				`No complete backup set at ${folder}: ${MANIFEST_FILE} is missing`,
				'Check the path. A set folder without manifest.json is unfinished (the backup was interrupted) and cannot be used.',
			);
		throw error;
	}
	await checkManifestSignature(`Backup set ${basename(folder)} (${folder})`, bytes, () =>
		readFile(join(folder, MANIFEST_SIGNATURE_FILE)).catch((error: unknown) => {
			if (systemErrorCode(error) === 'ENOENT') return undefined;
			throw error;
		}),
	);
	const manifest = parseManifest(bytes.toString('utf8'), manifestPath);
	const identities = currentSetKeys()?.identities;
	return identities?.length ? unsealManifest(folder, manifest, identities) : manifest;
}

/**
 * With trusted signing keys in the execution's keys (set-keys.ts), the manifest's bytes must carry
 * a signature by one of them; a set without one passes only with the explicit opt-in. `name`
 * names the set in errors; `readSignature` gives the content of manifest.json.sig (undefined
 * when it is absent). Without trusted keys nothing is checked.
 */
export async function checkManifestSignature(
	name: string,
	bytes: Buffer,
	readSignature: () => Promise<Buffer | undefined>,
): Promise<void> {
	const keys = currentSetKeys();
	const trusted = verifyingKeys(keys);
	if (!trusted.length) return;
	try {
		verifyManifestSignature(bytes, await readSignature(), trusted, { name });
	} catch (error) {
		if (keys?.allowUnsigned && isSealingError(error, 'SIGNATURE_MISSING')) return;
		throw error;
	}
}

/**
 * Why a valid manifest does not describe the set of the folder it is in (copied or moved by
 * hand): its backupId and environment are what every later step joins into paths and chains by.
 */
export function misplacedReason(manifest: Manifest, environment: string, folderName: string): string | undefined {
	if (manifest.backupId === folderName && manifest.environment === environment) return undefined;
	return `its ${MANIFEST_FILE} belongs to set ${manifest.backupId} of environment ${manifest.environment}, not to folder ${environment}/${folderName}: the folder was renamed or the manifest copied by hand. Rename the folder back (or put its own manifest back).`;
}

/** Lists the sets under `<root>/<environment>/`, for one environment or all of them. */
export async function listSets(root: string, environment?: string): Promise<Catalog> {
	const catalog: Catalog = { sets: [], unfinished: [], invalid: [] };
	const environments = environment ? [environment] : await subfolders(root);
	for (const env of environments) {
		for (const backupId of await subfolders(join(root, env))) {
			const folder = join(root, env, backupId);
			try {
				const manifest = await readSet(folder);
				const misplaced = misplacedReason(manifest, env, backupId);
				if (misplaced) catalog.invalid.push({ folder, reason: misplaced });
				else catalog.sets.push({ environment: env, backupId, folder, manifest });
			} catch (error) {
				if (error instanceof BackupError && error.code === 'SET_NOT_FOUND') {
					catalog.unfinished.push({ environment: env, backupId, folder, modifiedAt: (await stat(folder)).mtime });
				} else {
					catalog.invalid.push({ folder, reason: (error as Error).message });
				}
			}
		}
	}
	catalog.sets.sort(
		(a, b) => a.manifest.startedAt.localeCompare(b.manifest.startedAt) || a.backupId.localeCompare(b.backupId),
	);
	return catalog;
}

async function subfolders(folder: string): Promise<string[]> {
	try {
		const entries = await readdir(folder, { withFileTypes: true });
		return entries
			.filter((e) => e.isDirectory())
			.map((e) => e.name)
			.sort();
	} catch (error) {
		if (systemErrorCode(error) === 'ENOENT') return [];
		throw error;
	}
}
