import { join } from 'node:path';
import { readdir } from 'node:fs/promises';
import { readSet } from '../../backup-set/catalog';
import {
	isSealedWithoutKeys,
	manifestOf,
	type FilesRoot,
	type Manifest,
	type ManifestOf,
} from '../../backup-set/manifest';
import { identitiesFor } from '../../backup-set/sealed-read';
import { currentSetKeys } from '../../backup-set/set-keys';
import { BackupError, systemErrorCode } from '../../errors';
import { isSealingError } from '../../sealing';

export type FilesManifest = ManifestOf<'protheus-files'>;

export interface ChainLink {
	folder: string;
	manifest: FilesManifest;
}

const rootsKey = (roots: FilesRoot[]) =>
	JSON.stringify(roots.map((r) => [r.label, r.path.replace(/[\\/]+$/, '')]).sort());

/** Sets of the same folders only: an incremental of /a must never build on a set of /b. */
export const sameRoots = (a: FilesRoot[], b: FilesRoot[]) => rootsKey(a) === rootsKey(b);

/**
 * The chain that ends at the set in `folder`, full first, following parentBackupId through the
 * sibling folders of the same environment. A missing or unreadable ancestor is an error that
 * names it: without it the set cannot be restored.
 */
export async function resolveChain(folder: string, manifest?: Manifest): Promise<ChainLink[]> {
	const environmentFolder = join(folder, '..');
	const chain: ChainLink[] = [];
	let current: ChainLink = {
		folder,
		manifest: manifestOf(manifest ?? (await readSet(folder)), 'protheus-files', folder),
	};
	for (;;) {
		chain.unshift(current);
		const { parentBackupId, backupId, type } = current.manifest;
		if (type === 'full') break;
		if (!parentBackupId || chain.length > 10_000)
			throw new BackupError(
				'BACKUP_CHAIN_BROKEN',
				`Set ${backupId} is ${type} but names no parent set`,
				'The manifest is damaged: make a new full backup.',
			);
		const parentFolder = join(environmentFolder, parentBackupId);
		let parent: Manifest;
		try {
			parent = await readSet(parentFolder);
		} catch (error) {
			throw new BackupError(
				'BACKUP_CHAIN_BROKEN',
				`Set ${backupId} needs its parent ${parentBackupId}, which is missing or unreadable in ${environmentFolder} (${(error as Error).message})`,
				`Every ${type} set needs the sets it was made from: copy ${parentBackupId} back next to it (from an upload destination), or make a new full backup.`,
				{ cause: error },
			);
		}
		current = { folder: parentFolder, manifest: manifestOf(parent, 'protheus-files', parentFolder) };
	}
	const base = chain[0].manifest.backupId;
	const stray = chain.find((link, i) => i > 0 && link.manifest.baseBackupId !== base);
	if (stray)
		throw new BackupError(
			'BACKUP_CHAIN_BROKEN',
			`Set ${stray.manifest.backupId} says its full base is ${stray.manifest.baseBackupId}, but its parents lead to ${base}`,
			'The manifests are inconsistent: make a new full backup.',
		);
	return chain;
}

export interface PreviousSets {
	/** What the new set builds on, or a reason why nothing suitable exists. */
	parent?: ChainLink;
	base?: ChainLink;
	problem?: string;
}

/** `<env>-20261126T020000Z-incremental-files-2` -> sortable key and type, or undefined for other sets. */
function fileSetName(name: string): { key: string; type: string } | undefined {
	const m = /-(\d{8}T\d{6}Z)-(full|differential|incremental)-files(?:-(\d+))?$/.exec(name);
	return m ? { key: `${m[1]}-${(m[3] ?? '1').padStart(4, '0')}`, type: m[2] } : undefined;
}

/**
 * The set a differential (the newest full) or an incremental (the newest set of any type) of
 * these roots builds on, in the staging folder; its chain must be complete. Folder names sort
 * by time, so manifests are read newest first and only until one fits: an environment with
 * months of sets of a 20,000-file tree is not parsed on every run.
 */
export async function findPrevious(
	stagingFolder: string,
	environment: string,
	roots: FilesRoot[],
	type: 'differential' | 'incremental',
): Promise<PreviousSets> {
	const where = join(stagingFolder, environment);
	let names: string[];
	try {
		names = (await readdir(where, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
	} catch (error) {
		if (systemErrorCode(error) !== 'ENOENT') throw error;
		names = [];
	}
	const candidates = names
		.map((name) => ({ name, parsed: fileSetName(name) }))
		.filter((c) => c.parsed && (type === 'incremental' || c.parsed.type === 'full'))
		.sort((a, b) => (a.parsed!.key < b.parsed!.key ? 1 : a.parsed!.key > b.parsed!.key ? -1 : 0));
	let seenOtherRoots = false;
	for await (const { folder, manifest } of newestFirst(where, candidates)) {
		if (manifest.engine !== 'protheus-files') continue;
		if (!sameRoots(manifestOf(manifest, 'protheus-files').source.roots, roots)) {
			seenOtherRoots = true;
			continue;
		}
		try {
			const chain = await resolveChain(folder, manifest);
			return { parent: chain[chain.length - 1], base: chain[0] };
		} catch (error) {
			return { problem: `the newest set ${manifest.backupId} cannot be built on: ${(error as Error).message}` };
		}
	}
	const what = type === 'differential' ? 'full backup' : 'backup';
	return {
		problem: `no ${what} of these folders exists in ${where}${seenOtherRoots ? ' (there are file sets of other folders)' : ''}`,
	};
}

/**
 * The readable sets among `candidates` (sorted by name key, newest first), lazily, newest first.
 * Names have one-second resolution, so a full and an incremental made in the same second tie on
 * the key; sets that tie are ordered by their manifests' own times (milliseconds).
 */
async function* newestFirst(
	where: string,
	candidates: Array<{ name: string; parsed?: { key: string } }>,
): AsyncGenerator<{ folder: string; manifest: Manifest }> {
	for (let i = 0; i < candidates.length;) {
		const key = candidates[i].parsed!.key;
		const group: Array<{ folder: string; manifest: Manifest }> = [];
		for (; i < candidates.length && candidates[i].parsed!.key === key; i++) {
			const folder = join(where, candidates[i].name);
			try {
				group.push({ folder, manifest: await readSet(folder) });
			} catch (error) {
				// A sealed set the identity given does not open: said, naming the keys, rather than
				// building on an older set or reporting that none exists.
				if (isSealingError(error, 'NO_MATCHING_IDENTITY')) throw error;
				// unfinished (no manifest yet) or unreadable: never built on
			}
		}
		group.sort((a, b) =>
			a.manifest.finishedAt < b.manifest.finishedAt ? 1 : a.manifest.finishedAt > b.manifest.finishedAt ? -1 : 0,
		);
		yield* group;
	}
}

/**
 * A sealed set cannot be restored without an identity (its index and archives are encrypted):
 * said before any folder is made and before its artifacts are hashed, naming the keys it was
 * sealed for. A manifest that does not read is left to the verification, which reports it.
 */
export async function refuseSealedWithoutIdentity(folder: string): Promise<void> {
	if (currentSetKeys()?.identities?.length) return;
	let manifest: Manifest;
	try {
		manifest = await readSet(folder);
	} catch {
		return;
	}
	if (isSealedWithoutKeys(manifest)) identitiesFor(manifest);
}
