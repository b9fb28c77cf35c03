import { createHash } from 'node:crypto';
import { isSealedWithoutKeys, manifestOf, type Manifest } from '../../backup-set/manifest';
import { sealedFor } from '../../backup-set/sealed-read';
import { BackupError } from '../../errors';
import { checkArtifacts } from '../../checks/artifacts';
import { check, notRun, type CheckResult } from '../../checks/check';
import { readSetArchive } from './archive-reader';
import { resolveChain } from './chain';

export interface FilesVerifyOptions {
	/** The zstd program to read the archive with; found on the PATH when empty. */
	zstdPath?: string;
}

/**
 * Structural proof for a file set: a walk of the whole archive comparing every entry with the
 * index (name, type, size, SHA-256 of the content, link target), then the chain: every ancestor
 * present, of the same folders, with intact artifacts, and every file's content in one of them.
 * A sealed set read without an identity has no index (it is in the sealed part): the walk is
 * reported as not run, naming the keys it needs, and the chain is checked on what the public
 * manifests give (every ancestor present, its ciphertext of the recorded size and SHA-256).
 */
export async function checkFilesSet(
	folder: string,
	anyManifest: Manifest,
	options: FilesVerifyOptions,
): Promise<CheckResult[]> {
	const manifest = manifestOf(anyManifest, 'protheus-files', folder);
	if (isSealedWithoutKeys(anyManifest))
		return [
			notRun(
				'archive',
				'every archive entry matches the index',
				`The set is encrypted and no identity was given: its ciphertext was checked (artifacts), its archive and index need the private key of ${sealedFor(anyManifest).join(', ')} (Use Backup Keys with an Identity)`,
			),
			await checkChain(folder, manifest),
		];
	return [await checkArchiveWalk(folder, manifest, options.zstdPath), await checkChain(folder, manifest)];
}

async function checkArchiveWalk(
	folder: string,
	manifest: ReturnType<typeof manifestOf<'protheus-files'>>,
	zstdPath?: string,
): Promise<CheckResult> {
	const expectedHere = new Map(
		manifest.inventory.entries.filter((e) => e.type !== 'file' || e.from === manifest.backupId).map((e) => [e.path, e]),
	);
	const expected = `every archive entry matches the index: ${expectedHere.size} entries (${manifest.inventory.totals.archivedFiles} files with content)`;
	const artifact = manifest.artifacts.find((a) => a.kind === 'tar');
	if (!artifact) return check('archive', false, expected, 'no tar artifact', 'The manifest lists no tar archive');
	const problems: string[] = [];
	const seen = new Set<string>();
	let entries = 0;
	try {
		await readSetArchive(
			folder,
			manifest,
			artifact,
			manifest.compression.method,
			async (entry) => {
				entries++;
				const want = expectedHere.get(entry.path);
				const type = entry.header.type === 'directory' ? 'dir' : entry.header.type;
				if (!want || want.type !== type) {
					entry.stream.resume();
					problems.push(`${entry.path}: ${want ? `a ${type}, the index has a ${want.type}` : 'not in the index'}`);
					return;
				}
				seen.add(entry.path);
				if (type === 'symlink' && (entry.header.linkname ?? '') !== want.target)
					problems.push(`${entry.path}: link to ${entry.header.linkname}, the index has ${want.target}`);
				if (type !== 'file') {
					entry.stream.resume();
					return;
				}
				const hash = createHash('sha256');
				let size = 0;
				for await (const chunk of entry.stream as AsyncIterable<Buffer>) {
					hash.update(chunk);
					size += chunk.length;
				}
				const sha256 = hash.digest('hex');
				if (size !== want.size || sha256 !== want.sha256)
					problems.push(
						`${entry.path}: ${size} bytes SHA-256 ${sha256.slice(0, 12)}…, the index has ${want.size} bytes ${want.sha256?.slice(0, 12)}…`,
					);
			},
			zstdPath,
		);
	} catch (error) {
		if (!(error instanceof BackupError)) throw error;
		return check('archive', false, expected, 'unreadable', `${error.message}. ${error.hint}`);
	}
	const missing = [...expectedHere.keys()].filter((p) => !seen.has(p));
	for (const path of missing.slice(0, 20)) problems.push(`${path}: missing from the archive`);
	return problems.length
		? check('archive', false, expected, `${problems.length} problems`, problems.slice(0, 20).join('; '))
		: check(
				'archive',
				true,
				expected,
				`${entries} entries match`,
				`Every entry of ${artifact.path} matches the index (content hashed)`,
			);
}

async function checkChain(
	folder: string,
	manifest: ReturnType<typeof manifestOf<'protheus-files'>>,
): Promise<CheckResult> {
	const expected =
		manifest.type === 'full'
			? 'a full set: every file in its own archive'
			: `every ancestor back to the full ${manifest.baseBackupId} present and intact`;
	// Sealed and read without an identity: no index, so which sets hold the files is not known here.
	const fromIds = new Set(
		isSealedWithoutKeys(manifest) ? [] : manifest.inventory.entries.filter((e) => e.type === 'file').map((e) => e.from),
	);
	try {
		const chain = await resolveChain(folder, manifest);
		const ids = new Set(chain.map((l) => l.manifest.backupId));
		const orphan = [...fromIds].filter((id) => !id || !ids.has(id));
		if (orphan.length)
			return check(
				'chain',
				false,
				expected,
				'files from outside the chain',
				`The index takes files from ${orphan.join(', ')}, which are not in the chain ${[...ids].join(' → ')}`,
			);
		const problems: string[] = [];
		for (const link of chain.slice(0, -1)) {
			const artifacts = await checkArtifacts(link.folder, link.manifest);
			if (!artifacts.ok) problems.push(`${link.manifest.backupId}: ${artifacts.message}`);
		}
		return problems.length
			? check('chain', false, expected, `${problems.length} ancestors damaged`, problems.join('; '))
			: check(
					'chain',
					true,
					expected,
					`${chain.length} sets: ${chain.map((l) => `${l.manifest.backupId} (${l.manifest.type})`).join(' → ')}`,
					chain.length > 1
						? 'Every ancestor is present and its artifacts have the recorded size and SHA-256'
						: 'A full set needs no other set',
				);
	} catch (error) {
		if (!(error instanceof BackupError)) throw error;
		return check('chain', false, expected, 'incomplete', `${error.message}. ${error.hint}`);
	}
}
